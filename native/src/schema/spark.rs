//! Spark SQL types by their JSON names (`integer`, `decimal(10,9)`, …) and the Spark
//! schema JSON (`StructType.json()`) of a Unischema.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A Spark SQL type a Petastorm column can be stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SparkType {
    Byte,
    Short,
    Integer,
    Long,
    Float,
    Double,
    String,
    Boolean,
    Binary,
    Date,
    Timestamp,
    Decimal { precision: u8, scale: u8 },
}

/// Spark's JSON name and the `pyspark.sql.types` class of each type without parameters.
const SIMPLE: [(&str, &str, SparkType); 11] = [
    ("byte", "ByteType", SparkType::Byte),
    ("short", "ShortType", SparkType::Short),
    ("integer", "IntegerType", SparkType::Integer),
    ("long", "LongType", SparkType::Long),
    ("float", "FloatType", SparkType::Float),
    ("double", "DoubleType", SparkType::Double),
    ("string", "StringType", SparkType::String),
    ("boolean", "BooleanType", SparkType::Boolean),
    ("binary", "BinaryType", SparkType::Binary),
    ("date", "DateType", SparkType::Date),
    ("timestamp", "TimestampType", SparkType::Timestamp),
];

/// The `pyspark.sql.types` class of decimal types (its precision and scale are pickled state).
pub const PYSPARK_DECIMAL_CLASS: &str = "DecimalType";

impl SparkType {
    /// The `pyspark.sql.types` class name of this type (as pickles name it).
    pub fn pyspark_class(self) -> &'static str {
        match self {
            SparkType::Decimal { .. } => PYSPARK_DECIMAL_CLASS,
            t => SIMPLE.iter().find(|(_, _, s)| *s == t).map(|(_, c, _)| *c).expect("every simple type is listed"),
        }
    }

    /// The type of a parameterless `pyspark.sql.types` class (`None` for decimal and unknown classes).
    pub fn from_pyspark_class(class: &str) -> Option<SparkType> {
        SIMPLE.iter().find(|(_, c, _)| *c == class).map(|(_, _, t)| *t)
    }
}

impl FromStr for SparkType {
    type Err = Error;

    /// Parses a Spark JSON type name; `decimal` alone is `decimal(10,0)` as in Spark.
    fn from_str(s: &str) -> Result<Self> {
        if let Some((_, _, t)) = SIMPLE.iter().find(|(name, _, _)| *name == s) {
            return Ok(*t);
        }
        let bad = || Error::value(format!("unsupported Spark type '{s}'"));
        let args = match s.strip_prefix("decimal") {
            Some("") => return Ok(SparkType::Decimal { precision: 10, scale: 0 }),
            Some(rest) => rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(bad)?,
            None => return Err(bad()),
        };
        let (p, s) = args.split_once(',').ok_or_else(bad)?;
        let precision: u8 = p.trim().parse().map_err(|_| bad())?;
        let scale: u8 = s.trim().parse().map_err(|_| bad())?;
        if !(1..=38).contains(&precision) || scale > precision {
            return Err(bad());
        }
        Ok(SparkType::Decimal { precision, scale })
    }
}

impl fmt::Display for SparkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SparkType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            t => {
                let name =
                    SIMPLE.iter().find(|(_, _, s)| s == t).map(|(n, _, _)| *n).expect("every simple type is listed");
                f.write_str(name)
            }
        }
    }
}

impl TryFrom<String> for SparkType {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<SparkType> for String {
    fn from(t: SparkType) -> String {
        t.to_string()
    }
}

/// One `StructField` of Spark's schema JSON.
#[derive(Serialize)]
struct StructField<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    spark_type: SparkType,
    nullable: bool,
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// Spark's `StructType`, keys in Spark's order.
#[derive(Serialize)]
struct StructType<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    fields: Vec<StructField<'a>>,
}

/// Spark's `StructType.json()` of `(name, type, nullable)` columns.
pub fn struct_json<'a>(columns: impl IntoIterator<Item = (&'a str, SparkType, bool)>) -> String {
    let fields = columns
        .into_iter()
        .map(|(name, spark_type, nullable)| StructField { name, spark_type, nullable, metadata: Default::default() })
        .collect();
    serde_json::to_string(&StructType { kind: "struct", fields }).expect("plain structs serialize")
}
