//! The converter's opt-in persistent cache (`petastorm.spark.converter.persistentCache=true`),
//! shared by the Python and Scala converters so a cache written from either is reused by the other.
//!
//! The bindings gather the inputs with JVM calls (the analyzed plan, its schema and JSON form, the
//! session's settings, the input files); this module decides which plan classes keep a plan out of
//! the cache, builds and hashes the key text, and writes and checks the completion marker.
//!
//! Key: SHA-256 (hex) of
//! ```text
//! petastorm-converter-cache-v1
//! spark=<version>
//! timeZone=<spark.sql.session.timeZone>
//! ansi=<spark.sql.ansi.enabled>
//! rowGroupSizeBytes=<n>
//! compression=<codec>
//! dtype=<float32|float64|none>
//! schema=<analyzed schema JSON>
//! plan:
//! <canonicalized analyzed plan, verbose tree string, no field truncation>
//! files:
//! <input file URL>\t<length>\t<modification time ms>   (sorted)
//! ```
//! The marker ([`MARKER`]) holds the key, the row count and every data file with its length; it is
//! written after Spark committed, and a directory is reused only when the key matches and every
//! listed file is there with its length.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The first line of the key text and the marker's `format`.
pub const KEY_FORMAT: &str = "petastorm-converter-cache-v1";
/// The marker file in a cache directory.
pub const MARKER: &str = "_petastorm_converter_complete";

/// What the key is computed from (JSON from the bindings, field names in camelCase).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInputs {
    pub spark: String,
    pub time_zone: String,
    pub ansi: String,
    pub row_group_size_bytes: i64,
    pub compression: String,
    pub dtype: Option<String>,
    pub schema: String,
    pub plan: String,
    /// `(url, length, modification time ms)` of every input file.
    pub files: Vec<(String, i64, i64)>,
}

/// The text hashed into the key (files sorted, the plan's trailing newlines dropped).
pub fn key_text(inputs: &KeyInputs) -> String {
    let mut files = inputs.files.clone();
    files.sort();
    let mut lines = vec![
        KEY_FORMAT.to_string(),
        format!("spark={}", inputs.spark),
        format!("timeZone={}", inputs.time_zone),
        format!("ansi={}", inputs.ansi),
        format!("rowGroupSizeBytes={}", inputs.row_group_size_bytes),
        format!("compression={}", inputs.compression),
        format!("dtype={}", inputs.dtype.as_deref().unwrap_or("none")),
        format!("schema={}", inputs.schema),
        "plan:".to_string(),
        inputs.plan.trim_end_matches('\n').to_string(),
        "files:".to_string(),
    ];
    lines.extend(files.iter().map(|(url, len, mtime)| format!("{url}\t{len}\t{mtime}")));
    lines.join("\n") + "\n"
}

/// The key: the SHA-256 of [`key_text`], in hex.
pub fn key(inputs: &KeyInputs) -> String {
    Sha256::digest(key_text(inputs).as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The simple name of a class in a plan's JSON (`LogicalPlan.toJSON`) that keeps the plan out of
/// the cache: user code (UDFs, typed lambdas, pandas/Arrow functions), subqueries, or leaves the
/// key cannot see (RDDs, local data, streams). `None` when there is none.
pub fn denied_class(plan_json: &str) -> Option<String> {
    static CLASS: OnceLock<Regex> = OnceLock::new();
    static DENIED: OnceLock<Regex> = OnceLock::new();
    let class = CLASS.get_or_init(|| Regex::new(r#""class"\s*:\s*"([^"]+)""#).expect("a valid regex"));
    let denied = DENIED.get_or_init(|| {
        Regex::new(concat!(
            "UDF|UDAF|UDTF|Udf|PythonFunction|ScalaAggregator|Pandas|Arrow",
            "|MapElements|MapPartitions|AppendColumns|MapGroups|CoGroup|TypedFilter|ObjectToObject",
            "|ScriptTransformation|Subquery|ListQuery|^Exists$|LogicalRDD|ExternalRDD|LocalRelation",
            "|Streaming|Stateful|WithState"
        ))
        .expect("a valid regex")
    });
    let mut names: Vec<&str> = class
        .captures_iter(plan_json)
        .map(|c| c.get(1).expect("group 1").as_str())
        .map(|n| n.rsplit('.').next().unwrap_or(n).split('$').next().unwrap_or(n))
        .collect();
    names.sort_unstable();
    names.into_iter().find(|n| denied.is_match(n)).map(str::to_string)
}

#[derive(Serialize, Deserialize)]
struct Marker {
    format: String,
    key: String,
    rows: u64,
    /// `(relative path, length)` of every data file.
    files: Vec<(String, u64)>,
}

/// The marker's bytes (JSON) for a committed write of `rows` rows in `files`.
pub fn marker(key: &str, rows: u64, files: &[(String, u64)]) -> Vec<u8> {
    let mut files = files.to_vec();
    files.sort();
    let marker = Marker { format: KEY_FORMAT.into(), key: key.into(), rows, files };
    serde_json::to_vec(&marker).expect("a marker always serializes")
}

/// The row count of the write a marker describes when it is for `key` and `present` (the data
/// files in its directory with their lengths) are exactly the files it lists; else `None`.
/// A marker that is not one of ours is a `Value` error.
pub fn check_marker(marker: &[u8], key: &str, present: &[(String, u64)]) -> Result<Option<u64>> {
    let marker: Marker =
        serde_json::from_slice(marker).map_err(|e| Error::value(format!("not a converter cache marker: {e}")))?;
    let mut listed = marker.files;
    listed.sort();
    let mut present = present.to_vec();
    present.sort();
    let complete = marker.format == KEY_FORMAT && marker.key == key && !listed.is_empty() && listed == present;
    Ok(complete.then_some(marker.rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> KeyInputs {
        KeyInputs {
            spark: "4.0.1".into(),
            time_zone: "UTC".into(),
            ansi: "true".into(),
            row_group_size_bytes: 32 << 20,
            compression: "uncompressed".into(),
            dtype: Some("float32".into()),
            schema: r#"{"type":"struct","fields":[]}"#.into(),
            plan: "Range (0, 3, step=1)\n".into(),
            files: vec![("file:/b".into(), 2, 20), ("file:/a".into(), 1, 10)],
        }
    }

    #[test]
    fn the_key_text_is_fixed_and_sorts_files() {
        let text = key_text(&inputs());
        assert_eq!(
            text,
            "petastorm-converter-cache-v1\nspark=4.0.1\ntimeZone=UTC\nansi=true\nrowGroupSizeBytes=33554432\n\
             compression=uncompressed\ndtype=float32\nschema={\"type\":\"struct\",\"fields\":[]}\nplan:\n\
             Range (0, 3, step=1)\nfiles:\nfile:/a\t1\t10\nfile:/b\t2\t20\n"
        );
        assert_eq!(key(&inputs()).len(), 64);
        let mut other = inputs();
        other.dtype = None;
        assert!(key_text(&other).contains("\ndtype=none\n"));
        assert_ne!(key(&other), key(&inputs()));
    }

    #[test]
    fn user_code_and_invisible_leaves_are_denied() {
        let plan = |classes: &[&str]| {
            classes.iter().map(|c| format!(r#"{{"class": "{c}", "num-children": 0}}"#)).collect::<Vec<_>>().join(",")
        };
        let ok = plan(&[
            "org.apache.spark.sql.catalyst.plans.logical.Project",
            "org.apache.spark.sql.catalyst.plans.logical.Range",
        ]);
        assert_eq!(denied_class(&format!("[{ok}]")), None);
        for (class, simple) in [
            ("org.apache.spark.sql.catalyst.expressions.ScalaUDF", "ScalaUDF"),
            ("org.apache.spark.sql.execution.LogicalRDD", "LogicalRDD"),
            ("org.apache.spark.sql.catalyst.expressions.Exists", "Exists"),
            ("org.apache.spark.sql.catalyst.plans.logical.MapElements$Foo", "MapElements"),
        ] {
            assert_eq!(denied_class(&format!("[{ok},{}]", plan(&[class]))).as_deref(), Some(simple), "{class}");
        }
        // only the whole simple name "Exists" is denied
        assert_eq!(denied_class(&plan(&["org.example.ExistsJoin"])), None);
    }

    #[test]
    fn a_marker_is_reused_only_for_its_key_and_files() {
        let files = vec![("part-1.parquet".to_string(), 7), ("part-0.parquet".to_string(), 5)];
        let bytes = marker("k", 12, &files);
        let mut present = files.clone();
        present.reverse();
        assert_eq!(check_marker(&bytes, "k", &present).unwrap(), Some(12));
        assert_eq!(check_marker(&bytes, "other", &present).unwrap(), None);
        assert_eq!(check_marker(&bytes, "k", &present[..1]).unwrap(), None);
        assert_eq!(
            check_marker(&bytes, "k", &[("part-0.parquet".into(), 5), ("part-1.parquet".into(), 8)]).unwrap(),
            None
        );
        assert_eq!(check_marker(&marker("k", 0, &[]), "k", &[]).unwrap(), None);
        assert!(check_marker(b"{not json", "k", &present).is_err());
    }
}
