//! Native predicates (upstream's `in_set`, `in_intersection`, `in_negate`, `in_reduce`,
//! `in_pseudorandom_split`) and pyarrow-style DNF `filters`, evaluated on cells.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::Value as Json;

use super::values::{Cell, Value};
use crate::error::{Error, Result};

/// A predicate in its JSON form (`docs/ffi.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Predicate {
    /// The field's value is one of `values`.
    InSet {
        field: String,
        values: Vec<Json>,
    },
    /// The field's (array) value holds at least one of `values`.
    InIntersection {
        field: String,
        values: Vec<Json>,
    },
    InNegate(Box<Predicate>),
    InReduce {
        predicates: Vec<Predicate>,
        op: ReduceOp,
    },
    /// Keeps the rows whose hashed field value falls in subset `subset_index` of `fractions`.
    InPseudorandomSplit {
        field: String,
        fractions: Vec<f64>,
        subset_index: usize,
    },
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReduceOp {
    All,
    Any,
}

impl Predicate {
    /// The fields the predicate reads.
    pub fn fields(&self) -> BTreeSet<String> {
        match self {
            Predicate::InSet { field, .. }
            | Predicate::InIntersection { field, .. }
            | Predicate::InPseudorandomSplit { field, .. } => [field.clone()].into(),
            Predicate::InNegate(p) => p.fields(),
            Predicate::InReduce { predicates, .. } => predicates.iter().flat_map(|p| p.fields()).collect(),
        }
    }

    /// Checks arguments upstream checks when the predicate is built.
    pub fn check(&self) -> Result<()> {
        match self {
            Predicate::InPseudorandomSplit { fractions, subset_index, .. } if *subset_index >= fractions.len() => {
                Err(Error::value("in_pseudorandom_split: subset_index is out of range"))
            }
            Predicate::InNegate(p) => p.check(),
            Predicate::InReduce { predicates, .. } => predicates.iter().try_for_each(Predicate::check),
            _ => Ok(()),
        }
    }

    /// Whether a row whose cells `get` returns is included.
    pub fn include(&self, get: &dyn Fn(&str) -> Cell) -> Result<bool> {
        Ok(match self {
            Predicate::InSet { field, values } => match get(field) {
                Cell::Scalar(v) => values.iter().any(|j| v.equals(j)),
                Cell::List(_) => false,
            },
            Predicate::InIntersection { field, values } => match get(field) {
                Cell::List(items) => items.iter().any(|v| values.iter().any(|j| v.equals(j))),
                Cell::Scalar(Value::Null) => false,
                Cell::Scalar(Value::Str(_) | Value::Bytes(_)) | Cell::Scalar(_) => {
                    return Err(Error::value(format!(
                        "in_intersection: predicate field '{field}' should have iterable type"
                    )))
                }
            },
            Predicate::InNegate(p) => !p.include(get)?,
            Predicate::InReduce { predicates, op } => {
                let mut results = predicates.iter().map(|p| p.include(get));
                match op {
                    ReduceOp::All => results.try_fold(true, |acc, r| r.map(|r| acc && r))?,
                    ReduceOp::Any => results.try_fold(false, |acc, r| r.map(|r| acc || r))?,
                }
            }
            Predicate::InPseudorandomSplit { field, fractions, subset_index } => {
                let text = match get(field) {
                    Cell::Scalar(v) => v.python_str(),
                    Cell::List(items) => {
                        format!("[{}]", items.iter().map(Value::python_str).collect::<Vec<_>>().join(" "))
                    }
                };
                in_split(&text, fractions, *subset_index)
            }
        })
    }
}

/// Upstream's split: `int(md5(str(value)).hexdigest(), 16) % sys.maxsize` against the
/// cumulative fractions scaled by `sys.maxsize - 1` (identical buckets for ints and strings).
fn in_split(text: &str, fractions: &[f64], subset: usize) -> bool {
    const MAXSIZE: u128 = (1 << 63) - 1;
    let digest = Md5::digest(text.as_bytes());
    let bucket = u128::from_be_bytes(digest.into()) % MAXSIZE;
    let high: f64 = fractions[..=subset].iter().sum();
    let low: f64 = fractions[..subset].iter().sum();
    let scale = (MAXSIZE - 1) as f64;
    let bucket = bucket as f64;
    low * scale <= bucket && bucket < high * scale
}

/// A comparison operator of a filter term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    NotIn,
}

/// One `(column, op, value)` term.
#[derive(Debug, Clone)]
pub struct Term {
    pub column: String,
    pub op: Op,
    pub value: Json,
}

/// pyarrow's `filters`: a disjunction of conjunctions of terms.
#[derive(Debug, Clone)]
pub struct Filters(pub Vec<Vec<Term>>);

impl<'de> Deserialize<'de> for Filters {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Filters::from_json(&Json::deserialize(d)?).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

impl Filters {
    /// `[[term, ...], ...]` (DNF) or `[term, ...]` (one conjunction); a term is `[col, op, value]`.
    pub fn from_json(json: &Json) -> Result<Self> {
        let bad = || Error::value(format!("invalid filters {json}: expected [[[column, op, value], ...], ...]"));
        let list = json.as_array().ok_or_else(bad)?;
        let is_term = |j: &Json| j.as_array().is_some_and(|t| t.len() == 3 && t[0].is_string() && t[1].is_string());
        let conjunctions: Vec<&Json> = match list.first() {
            Some(first) if is_term(first) => vec![json],
            _ => list.iter().collect(),
        };
        let term = |t: &Json| -> Result<Term> {
            let t = t.as_array().filter(|t| t.len() == 3).ok_or_else(bad)?;
            let (column, op) = (t[0].as_str().ok_or_else(bad)?, t[1].as_str().ok_or_else(bad)?);
            let op = match op.to_ascii_lowercase().as_str() {
                "=" | "==" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                ">" => Op::Gt,
                "<=" => Op::Le,
                ">=" => Op::Ge,
                "in" => Op::In,
                "not in" => Op::NotIn,
                other => return Err(Error::value(format!("unsupported filter operator '{other}'"))),
            };
            if matches!(op, Op::In | Op::NotIn) && !t[2].is_array() {
                return Err(Error::value(format!("filter '{column} {}' needs a list of values", t[1])));
            }
            Ok(Term { column: column.to_string(), op, value: t[2].clone() })
        };
        let dnf = conjunctions
            .into_iter()
            .map(|c| c.as_array().ok_or_else(bad)?.iter().map(term).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        Ok(Filters(dnf))
    }

    pub fn columns(&self) -> BTreeSet<String> {
        self.0.iter().flatten().map(|t| t.column.clone()).collect()
    }

    /// Whether a row passes: any conjunction whose terms all hold.
    pub fn include(&self, get: &dyn Fn(&str) -> Cell) -> bool {
        self.0.iter().any(|conj| conj.iter().all(|t| t.holds(&get(&t.column))))
    }

    /// Whether a file whose partition values `known` returns may hold passing rows: terms on
    /// other columns are assumed to hold.
    pub fn may_include(&self, known: &dyn Fn(&str) -> Option<Cell>) -> bool {
        self.0.iter().any(|conj| conj.iter().all(|t| known(&t.column).is_none_or(|c| t.holds(&c))))
    }
}

impl Term {
    /// A null never satisfies a term (as in pyarrow).
    fn holds(&self, cell: &Cell) -> bool {
        let Cell::Scalar(v) = cell else { return false };
        if *v == Value::Null {
            return false;
        }
        let cmp = || v.compare(&self.value);
        let any_equal = || self.value.as_array().is_some_and(|vs| vs.iter().any(|j| v.equals(j)));
        match self.op {
            Op::Eq => cmp() == Some(Ordering::Equal),
            Op::Ne => cmp().is_some_and(|o| o != Ordering::Equal),
            Op::Lt => cmp() == Some(Ordering::Less),
            Op::Gt => cmp() == Some(Ordering::Greater),
            Op::Le => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
            Op::Ge => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
            Op::In => any_equal(),
            Op::NotIn => !any_equal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_matches_upstream_buckets() {
        // Upstream: int(hashlib.md5(b'5').hexdigest(), 16) % sys.maxsize.
        let digest = Md5::digest(b"5");
        assert_eq!(format!("{digest:x}"), "e4da3b7fbbce2345d7772b0674a318d5");
        let fractions = [0.5, 0.5];
        let in_first = (0..1000).filter(|i| in_split(&i.to_string(), &fractions, 0)).count();
        let in_second = (0..1000).filter(|i| in_split(&i.to_string(), &fractions, 1)).count();
        assert_eq!(in_first + in_second, 1000);
        assert!((400..600).contains(&in_first));
        // Python: [i for i in range(30) if bucket(str(i)) < 0.3 * (sys.maxsize - 1)]
        let first: Vec<i32> = (0..30).filter(|i| in_split(&i.to_string(), &[0.3, 0.7], 0)).collect();
        assert_eq!(first, [0, 1, 3, 5, 6, 10, 13, 22, 25]);
        let letters: Vec<&str> =
            ["a", "b", "c", "d", "e", "f", "g", "h"].into_iter().filter(|s| in_split(s, &[0.3, 0.7], 0)).collect();
        assert_eq!(letters, ["e", "f", "h"]);
    }

    #[test]
    fn parses_predicates_and_filters() {
        let p: Predicate = serde_json::from_value(json!({"in_reduce": {"op": "any", "predicates": [
            {"in_set": {"field": "id", "values": [1, 2]}},
            {"in_negate": {"in_set": {"field": "label", "values": ["x"]}}}]}}))
        .unwrap();
        assert_eq!(p.fields(), ["id".to_string(), "label".to_string()].into());
        let get = |f: &str| match f {
            "id" => Cell::Scalar(Value::Int(3)),
            _ => Cell::Scalar(Value::Str("x".into())),
        };
        assert!(!p.include(&get).unwrap());

        let f = Filters::from_json(&json!([["id", ">", 2], ["label", "in", ["x", "y"]]])).unwrap();
        assert_eq!(f.0.len(), 1);
        assert!(f.include(&get));
        let f = Filters::from_json(&json!([[["id", "<", 2]], [["label", "not in", ["x"]]]])).unwrap();
        assert!(!f.include(&get));
        assert!(f.may_include(&|_| None));
        assert!(Filters::from_json(&json!([["id", "~", 2]])).is_err());
    }
}
