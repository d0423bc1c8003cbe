//! `Unischema` and its fields: validation, the JSON form, Spark schema, field matching.

use fancy_regex::Regex;
use serde::{Deserialize, Serialize};

use super::{FieldDType, SparkType};
use crate::codec::ImageFormat;
use crate::error::{Error, Result};

/// How a field's values are stored in their Parquet column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Codec {
    /// `ScalarCodec(spark_type)`: a plain Parquet value.
    Scalar { spark_type: SparkType },
    /// `NdarrayCodec()`: NPY bytes.
    Ndarray,
    /// `CompressedNdarrayCodec()`: NPZ bytes.
    CompressedNdarray,
    /// `CompressedImageCodec(format, quality)`: PNG/JPEG bytes.
    CompressedImage {
        #[serde(with = "image_format")]
        format: ImageFormat,
        #[serde(default = "default_quality")]
        quality: u8,
    },
    /// A user's `DataframeColumnCodec` subclass `module.class` with its plain-data `__dict__`:
    /// encoded and decoded in Python; the reader hands over the stored column as it is.
    Custom {
        module: String,
        class: String,
        #[serde(default)]
        state: serde_json::Map<String, serde_json::Value>,
        #[serde(default = "binary")]
        spark_type: SparkType,
    },
}

fn binary() -> SparkType {
    SparkType::Binary
}

fn default_quality() -> u8 {
    80
}

/// `ImageFormat` as the JSON strings `"png"` / `"jpeg"`.
mod image_format {
    use super::ImageFormat;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &ImageFormat, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match f {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpeg",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ImageFormat, D::Error> {
        match String::deserialize(d)?.as_str() {
            "png" => Ok(ImageFormat::Png),
            "jpeg" => Ok(ImageFormat::Jpeg),
            other => Err(D::Error::custom(format!("unsupported image format '{other}' (png or jpeg)"))),
        }
    }
}

/// One field (`UnischemaField`): a name, NumPy type, shape (`None` = any size), codec, nullability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FieldJson")]
pub struct Field {
    pub name: String,
    pub dtype: FieldDType,
    pub shape: Vec<Option<usize>>,
    #[serde(default)]
    pub nullable: bool,
    #[serde(default)]
    pub codec: Option<Codec>,
}

impl Field {
    /// True when values are stored as plain Parquet values (scalar codec or no codec).
    pub fn is_scalar_column(&self) -> bool {
        matches!(self.codec, None | Some(Codec::Scalar { .. }))
    }

    /// The Spark type of this field's column, by upstream's `as_spark_schema` rules.
    pub fn spark_type(&self) -> Result<SparkType> {
        match self.codec {
            Some(Codec::Scalar { spark_type } | Codec::Custom { spark_type, .. }) => Ok(spark_type),
            Some(_) => Ok(SparkType::Binary),
            None if !self.shape.is_empty() => Err(Error::value(format!(
                "An instance of non-scalar UnischemaField '{}' has codec set to None. \
                 Don't know how to guess a Spark type for it",
                self.name
            ))),
            None => self.dtype.default_spark_type().ok_or_else(|| {
                Error::value(format!("Was not able to map type {} to a spark type.", self.dtype.name()))
            }),
        }
    }

    /// Checks that the codec fits the dtype and shape.
    fn validate(&self) -> Result<()> {
        match self.codec {
            Some(Codec::Scalar { .. }) if !self.shape.is_empty() => {
                Err(Error::value("a ScalarCodec field must have shape []"))
            }
            Some(Codec::CompressedImage { format, quality }) => {
                let dtype_ok = match format {
                    ImageFormat::Png => matches!(self.dtype, FieldDType::UInt8 | FieldDType::UInt16),
                    ImageFormat::Jpeg => self.dtype == FieldDType::UInt8,
                };
                if !dtype_ok {
                    return Err(Error::value(format!(
                        "CompressedImageCodec({format:?}) can not store {} images",
                        self.dtype.name()
                    )));
                }
                let shape_ok = match self.shape.as_slice() {
                    [_, _] => true,
                    [_, _, channels] => *channels == Some(3),
                    _ => false,
                };
                if !shape_ok {
                    return Err(Error::value("CompressedImageCodec needs shape (H, W) or (H, W, 3)"));
                }
                if !(1..=100).contains(&quality) {
                    return Err(Error::value(format!("image quality must be 1..100, got {quality}")));
                }
                Ok(())
            }
            Some(Codec::Custom { .. }) => Ok(()),
            _ if matches!(self.dtype, FieldDType::Decimal | FieldDType::Datetime64) && !self.is_scalar_column() => {
                Err(Error::value(format!("{} fields can only be stored as plain columns", self.dtype.name())))
            }
            _ => Ok(()),
        }
    }
}

/// A named, ordered list of fields with unique names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unischema {
    name: String,
    fields: Vec<Field>,
}

/// A field's JSON form, with signed dimensions so that a negative one is reported by name.
#[derive(Deserialize)]
struct FieldJson {
    name: String,
    dtype: FieldDType,
    shape: Vec<Option<i64>>,
    #[serde(default)]
    nullable: bool,
    #[serde(default)]
    codec: Option<Codec>,
}

impl TryFrom<FieldJson> for Field {
    type Error = String;

    fn try_from(f: FieldJson) -> Result<Field, String> {
        let shape = f
            .shape
            .iter()
            .map(|d| d.map(usize::try_from).transpose())
            .collect::<Result<Vec<Option<usize>>, _>>()
            .map_err(|_| {
                format!("field '{}': shape {} has a negative dimension", f.name, serde_json::json!(f.shape))
            })?;
        Ok(Field { name: f.name, dtype: f.dtype, shape, nullable: f.nullable, codec: f.codec })
    }
}

/// The JSON form before validation.
#[derive(Deserialize)]
struct UnischemaJson {
    name: String,
    fields: Vec<Field>,
}

impl Unischema {
    /// Builds a validated schema: unique names, codecs that fit their fields.
    pub fn new(name: impl Into<String>, fields: Vec<Field>) -> Result<Self> {
        let name = name.into();
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].iter().any(|g| g.name == f.name) {
                return Err(Error::value(format!("duplicate field name '{}' in schema {name}", f.name)));
            }
            f.validate().map_err(|e| e.context(format_args!("field '{}'", f.name)))?;
        }
        Ok(Unischema { name, fields })
    }

    /// Parses and validates the Unischema JSON form.
    pub fn from_json(json: &str) -> Result<Self> {
        let raw: UnischemaJson =
            serde_json::from_str(json).map_err(|e| Error::value(format!("invalid Unischema JSON: {e}")))?;
        Self::new(raw.name, raw.fields)
    }

    /// The Unischema JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Unischema always serializes")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field at `index`, or a `Value` error.
    pub fn field(&self, index: usize) -> Result<&Field> {
        self.fields.get(index).ok_or_else(|| {
            Error::value(format!(
                "field index {index} out of range: schema {} has {} fields",
                self.name,
                self.fields.len()
            ))
        })
    }

    pub fn field_by_name(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Spark's `StructType.json()` for this schema (upstream's `as_spark_schema`).
    pub fn spark_schema_json(&self) -> Result<String> {
        let columns = self
            .fields
            .iter()
            .map(|f| Ok((f.name.as_str(), f.spark_type()?, f.nullable)))
            .collect::<Result<Vec<_>>>()?;
        Ok(super::spark::struct_json(columns))
    }

    /// Fields whose whole name matches any of the regexes, in schema order.
    pub fn match_fields<S: AsRef<str>>(&self, patterns: &[S]) -> Result<Vec<&Field>> {
        let regexes = patterns
            .iter()
            .map(|p| {
                Regex::new(&format!("^(?:{})$", p.as_ref()))
                    .map_err(|e| Error::value(format!("invalid field regex '{}': {e}", p.as_ref())))
            })
            .collect::<Result<Vec<_>>>()?;
        // fancy_regex: Python `re` syntax such as look-arounds works as it does upstream; a match that
        // exceeds the backtracking limit counts as no match.
        Ok(self.fields.iter().filter(|f| regexes.iter().any(|r| r.is_match(&f.name).unwrap_or(false))).collect())
    }
}
