//! Spark column values ↔ cells of a field: flat element buffers with (or without) a shape,
//! Spark `image` structs (BGR), and the decoded forms Spark SQL can hold (arrays of Spark's
//! signed/float types, image structs). Used by the JVM's `petastorm.sql.functions`.

use super::cell::encode_cell_into;
use super::{Field, FieldDType, SparkType, Unischema};
use crate::codec::cast::{cast, check_count};
use crate::codec::pixels::{self, Order, Pixels};
use crate::codec::{fmt_shape, Tensor};
use crate::dtype::{ArrayDType, Kind};
use crate::error::{Error, Result};

fn in_field<T>(field: &Field, r: Result<T>) -> Result<T> {
    r.map_err(|e| {
        let prefix = format!("field '{}'", field.name);
        if e.message().starts_with(&prefix) {
            e
        } else {
            e.context(prefix)
        }
    })
}

/// The field at `index`, which must be stored through a binary codec.
fn array_field(schema: &Unischema, index: usize) -> Result<&Field> {
    let field = schema.field(index)?;
    if field.is_scalar_column() {
        return Err(Error::value(format!(
            "field '{}' is a scalar column (no ndarray or image codec): use the column as it is",
            field.name
        )));
    }
    Ok(field)
}

/// The little-endian array dtype of a numeric/bool field (`None` for strings and decimals).
fn fixed_dtype(dtype: FieldDType) -> Option<ArrayDType> {
    match dtype.array_kind()? {
        (kind, Some(size)) => Some(ArrayDType::native(kind, size)),
        _ => None,
    }
}

/// The shape of `count` elements for `field`: `given` when set, else the field's shape, with
/// at most one `None` dimension inferred from the count.
pub fn resolve_shape(field: &Field, count: usize, given: Option<&[usize]>) -> Result<Vec<usize>> {
    if let Some(shape) = given {
        check_count(count, shape)?;
        return Ok(shape.to_vec());
    }
    let open = field.shape.iter().filter(|d| d.is_none()).count();
    let known: usize = field.shape.iter().flatten().product();
    let shape: Vec<usize> = match open {
        0 => field.shape.iter().flatten().copied().collect(),
        1 if known > 0 && count.is_multiple_of(known) => {
            field.shape.iter().map(|d| d.unwrap_or(count / known)).collect()
        }
        1 => {
            return Err(Error::value(format!(
                "{count} values do not fill shape {}",
                fmt_shape(field.shape.iter().copied())
            )))
        }
        _ => {
            return Err(Error::value(format!(
                "shape {} has {open} open dimensions: give the shape (a shape column or nested arrays)",
                fmt_shape(field.shape.iter().copied())
            )))
        }
    };
    check_count(count, &shape)?;
    Ok(shape)
}

/// Encodes `data` (C-order elements of `dtype`; `None`: the field's own dtype, as raw bytes)
/// for field `index`: elements converted to the field's dtype (`codec::cast` rules), the shape
/// resolved by [`resolve_shape`], then checked and encoded like [`crate::schema::encode_cell`].
pub fn encode_values(
    schema: &Unischema,
    index: usize,
    dtype: Option<&str>,
    shape: Option<&[usize]>,
    data: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_values_into(schema, index, (dtype, shape, data), &mut out)?;
    Ok(out)
}

/// Column elements as [`encode_values`] takes them: dtype (`None`: the field's), shape, raw bytes.
pub type ColumnValues<'a> = (Option<&'a str>, Option<&'a [usize]>, &'a [u8]);

/// [`encode_values`], appending the cell to `out` (part of a cell may be left on an error).
pub fn encode_values_into(schema: &Unischema, index: usize, values: ColumnValues, out: &mut Vec<u8>) -> Result<()> {
    let field = array_field(schema, index)?;
    in_field(field, encode_values_of(schema, index, field, values, out))
}

fn encode_values_of(
    schema: &Unischema,
    index: usize,
    field: &Field,
    (dtype, shape, data): ColumnValues,
    out: &mut Vec<u8>,
) -> Result<()> {
    let target = fixed_dtype(field.dtype);
    let source = match dtype {
        Some(d) => ArrayDType::parse(d)?,
        None => target.ok_or_else(|| {
            Error::value(format!("raw bytes need a numeric field, not a {} field", field.dtype.name()))
        })?,
    };
    // Strings (and any dtype the field already has) go to `encode_cell` unchanged.
    let (dtype, data) = match target {
        Some(to) if !field.dtype.matches(&source) => (to, cast(data, source, to)?),
        _ => (source, data.into()),
    };
    if dtype.itemsize == 0 || !data.len().is_multiple_of(dtype.itemsize) {
        return Err(Error::value(format!(
            "{} bytes are not a whole number of {} elements",
            data.len(),
            super::numpy_name(&dtype)
        )));
    }
    let shape = resolve_shape(field, data.len() / dtype.itemsize, shape)?;
    encode_cell_into(schema, index, (&dtype.descr(), &shape, false, &data), out)
}

/// Encodes a Spark `image` struct (BGR/BGRA/gray bytes, see `codec::pixels`) for field
/// `index`, whose uint8 array is gray `(H, W)` or `(H, W, c)` with `c` 1, 3 (RGB) or 4 (RGBA)
/// (`None`: the image's own channel count).
pub fn encode_image_struct(
    schema: &Unischema,
    index: usize,
    height: i64,
    width: i64,
    channels: i64,
    mode: i64,
    data: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_image_struct_into(schema, index, ImageStruct { height, width, channels, mode, data }, &mut out)?;
    Ok(out)
}

/// The members of a Spark `image` struct that [`encode_image_struct`] reads.
pub struct ImageStruct<'a> {
    pub height: i64,
    pub width: i64,
    pub channels: i64,
    pub mode: i64,
    pub data: &'a [u8],
}

/// [`encode_image_struct`], appending the cell to `out` (part of a cell may be left on an error).
pub fn encode_image_struct_into(schema: &Unischema, index: usize, image: ImageStruct, out: &mut Vec<u8>) -> Result<()> {
    let ImageStruct { height, width, channels, mode, data } = image;
    let field = array_field(schema, index)?;
    let mut encode = || {
        if field.dtype != FieldDType::UInt8 {
            return Err(Error::value(format!("Spark images are uint8, but the field is {}", field.dtype.name())));
        }
        let src = pixels::spark_image(height, width, channels, mode, data)?;
        let channels = match field.shape.as_slice() {
            [_, _] => 1,
            [_, _, Some(c @ (1 | 3 | 4))] => *c,
            [_, _, None] => src.channels,
            _ => {
                return Err(Error::value(format!(
                    "images need a field of shape (H, W) or (H, W, 1|3|4), not {}",
                    fmt_shape(field.shape.iter().copied())
                )))
            }
        };
        let rgb = pixels::convert(&src, channels, Order::Rgb)?;
        let mut shape = vec![src.height, src.width];
        if field.shape.len() == 3 {
            shape.push(channels);
        }
        encode_cell_into(schema, index, ("|u1", &shape, false, &rgb), out)
    };
    in_field(field, encode())
}

/// The element type of the Spark array a field decodes into: the field's dtype where Spark
/// has it, else the next wider signed type (`uint8` → `short`, `uint16` → `integer`, `uint32`
/// and `uint64` → `long`), `float16` → `float`.
pub fn decoded_element_type(schema: &Unischema, index: usize) -> Result<SparkType> {
    let field = array_field(schema, index)?;
    use FieldDType::*;
    Ok(match field.dtype {
        UInt32 | UInt64 => SparkType::Long,
        Float16 => SparkType::Float,
        d => d.default_spark_type().ok_or_else(|| Error::value("no Spark element type"))?,
    })
}

/// The array dtype of a Spark element type (`None` for strings and binaries).
fn spark_dtype(t: SparkType) -> Option<ArrayDType> {
    let (kind, size) = match t {
        SparkType::Boolean => (Kind::Bool, 1),
        SparkType::Byte => (Kind::Int, 1),
        SparkType::Short => (Kind::Int, 2),
        SparkType::Integer => (Kind::Int, 4),
        SparkType::Long => (Kind::Int, 8),
        SparkType::Float => (Kind::Float, 4),
        SparkType::Double => (Kind::Float, 8),
        _ => return None,
    };
    Some(ArrayDType::native(kind, size))
}

/// Decodes a cell of field `index` into C-order little-endian elements of its
/// [`decoded_element_type`] (strings and bytes as decoded); shape as stored.
pub fn decode_values(schema: &Unischema, index: usize, cell: &[u8]) -> Result<Tensor> {
    let element = decoded_element_type(schema, index)?;
    let t = super::decode_cell(schema, index, cell)?;
    let Some(to) = spark_dtype(element) else {
        return Ok(t);
    };
    if to == t.dtype {
        return Ok(t);
    }
    let field = schema.field(index)?;
    let data = in_field(field, cast(&t.data, t.dtype, to))?.into_owned();
    Ok(Tensor { dtype: to, shape: t.shape, fortran_order: false, data })
}

/// Decodes an image (or any uint8 `(H, W)` / `(H, W, 1|3|4)` array) of field `index` into the
/// pixels of a Spark `image` struct: shape `(H, W, nChannels)`, BGR/BGRA or gray bytes.
pub fn decode_image_struct(schema: &Unischema, index: usize, cell: &[u8]) -> Result<Tensor> {
    let field = array_field(schema, index)?;
    let t = super::decode_cell(schema, index, cell)?;
    let convert = || {
        let (height, width, channels) = match (t.dtype.kind, t.dtype.itemsize, t.shape.as_slice()) {
            (Kind::UInt, 1, &[h, w]) => (h, w, 1),
            (Kind::UInt, 1, &[h, w, c @ (1 | 3 | 4)]) => (h, w, c),
            _ => {
                return Err(Error::value(format!(
                    "a Spark image needs a uint8 array of shape (H, W) or (H, W, 1|3|4), not {} {}",
                    super::numpy_name(&t.dtype),
                    fmt_shape(t.shape.iter().map(|d| Some(*d)))
                )))
            }
        };
        let src = Pixels { height, width, channels, order: Order::Rgb, data: &t.data };
        let data = pixels::convert(&src, channels, Order::Bgr)?;
        Ok(Tensor { dtype: t.dtype, shape: vec![height, width, channels], fortran_order: false, data })
    };
    in_field(field, convert())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::image;
    use crate::schema::encode_cell;

    fn schema() -> Unischema {
        Unischema::from_json(
            r#"{"name": "S", "fields": [
              {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
              {"name": "rgb", "dtype": "uint8", "shape": [null, null, 3], "codec": {"type": "compressed_image", "format": "png"}},
              {"name": "gray", "dtype": "uint8", "shape": [2, 2], "codec": {"type": "compressed_image", "format": "png"}},
              {"name": "m", "dtype": "uint8", "shape": [null, 3], "codec": {"type": "ndarray"}},
              {"name": "v", "dtype": "float32", "shape": [null, 2, null], "codec": {"type": "compressed_ndarray"}},
              {"name": "h", "dtype": "float16", "shape": [2], "codec": {"type": "ndarray"}},
              {"name": "u16", "dtype": "uint16", "shape": [2, 2], "codec": {"type": "compressed_image", "format": "png"}},
              {"name": "rgba", "dtype": "uint8", "shape": [1, 2, 4], "codec": {"type": "ndarray"}},
              {"name": "s", "dtype": "str", "shape": [2], "codec": {"type": "ndarray"}}]}"#,
        )
        .unwrap()
    }

    fn le_i32(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn values_encode_like_encode_cell() {
        let s = schema();
        let direct = encode_cell(&s, 3, "|u1", &[2, 3], false, &[1, 2, 3, 4, 5, 6]).unwrap();
        // Raw bytes, shape inferred from the one open dimension.
        assert_eq!(encode_values(&s, 3, None, None, &[1, 2, 3, 4, 5, 6]).unwrap(), direct);
        // int32 values converted to uint8, shape given.
        let ints = le_i32(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(encode_values(&s, 3, Some("<i4"), Some(&[2, 3]), &ints).unwrap(), direct);
        // float64 to float32 with an explicit shape (two open dimensions).
        let d: Vec<u8> = (0..8).flat_map(|i| (i as f64).to_le_bytes()).collect();
        let f: Vec<u8> = (0..8).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let expected = encode_cell(&s, 4, "<f4", &[2, 2, 2], false, &f).unwrap();
        assert_eq!(encode_values(&s, 4, Some("<f8"), Some(&[2, 2, 2]), &d).unwrap(), expected);
        // Strings pass through.
        let u: Vec<u8> = "ab".chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        assert_eq!(
            encode_values(&s, 8, Some("<U1"), None, &u).unwrap(),
            encode_cell(&s, 8, "<U1", &[2], false, &u).unwrap()
        );
    }

    #[test]
    fn value_errors_name_the_field() {
        let s = schema();
        let msg = |r: Result<Vec<u8>>| r.unwrap_err().message().to_string();
        assert_eq!(
            msg(encode_values(&s, 3, None, None, &[1, 2, 3, 4])),
            "field 'm': 4 values do not fill shape (None, 3)"
        );
        assert!(msg(encode_values(&s, 4, Some("<f4"), None, &[0; 16]))
            .starts_with("field 'v': shape (None, 2, None) has 2 open"));
        assert_eq!(
            msg(encode_values(&s, 3, Some("<i4"), None, &le_i32(&[1, 2, 300]))),
            "field 'm': value 300 at index 2 is out of range for uint8"
        );
        assert_eq!(
            msg(encode_values(&s, 3, Some("<f4"), None, &[0; 12])),
            "field 'm': cannot convert float32 values to uint8"
        );
        assert!(msg(encode_values(&s, 3, None, Some(&[3, 2]), &[0; 6])).starts_with("field 'm': Unexpected dimensions"));
        assert!(msg(encode_values(&s, 0, None, None, &[0; 4])).contains("scalar column"));
        assert!(msg(encode_values(&s, 8, None, None, &[0; 4])).contains("raw bytes need a numeric field"));
        assert!(msg(encode_values(&s, 3, None, Some(&[2, 3]), &[0; 5])).contains("5 values do not fill shape (2, 3)"));
    }

    #[test]
    fn image_structs_become_rgb_images() {
        let s = schema();
        // A 1x2 BGR struct → RGB PNG.
        let bgr = [10, 20, 30, 40, 50, 60];
        let png = encode_image_struct(&s, 1, 1, 2, 3, 16, &bgr).unwrap();
        assert_eq!(png, encode_cell(&s, 1, "|u1", &[1, 2, 3], false, &[30, 20, 10, 60, 50, 40]).unwrap());
        // Gray struct into an RGB field, BGRA struct into a gray field, into an RGBA array.
        let gray_png = encode_image_struct(&s, 1, 1, 2, 1, 0, &[5, 6]).unwrap();
        assert_eq!(gray_png, encode_cell(&s, 1, "|u1", &[1, 2, 3], false, &[5, 5, 5, 6, 6, 6]).unwrap());
        let bgra = [255, 0, 0, 9, 0, 255, 0, 9, 0, 0, 255, 9, 0, 0, 0, 9];
        let g = encode_image_struct(&s, 2, 2, 2, 4, 24, &bgra).unwrap();
        assert_eq!(g, encode_cell(&s, 2, "|u1", &[2, 2], false, &[29, 150, 76, 0]).unwrap());
        let a = encode_image_struct(&s, 7, 1, 2, 3, 16, &bgr).unwrap();
        assert_eq!(a, encode_cell(&s, 7, "|u1", &[1, 2, 4], false, &[30, 20, 10, 255, 60, 50, 40, 255]).unwrap());
        // Round trip back to the struct's BGR bytes.
        let back = decode_image_struct(&s, 1, &png).unwrap();
        assert_eq!((back.shape.as_slice(), back.data.as_slice()), (&[1usize, 2, 3][..], &bgr[..]));
        let back = decode_image_struct(&s, 7, &a).unwrap();
        assert_eq!(back.data, [10, 20, 30, 255, 40, 50, 60, 255]);
        let back = decode_image_struct(&s, 2, &g).unwrap();
        assert_eq!((back.shape.as_slice(), back.data.as_slice()), (&[2usize, 2, 1][..], &[29, 150, 76, 0][..]));
    }

    #[test]
    fn image_struct_errors_name_the_field() {
        let s = schema();
        let msg = |r: Result<Vec<u8>>| r.unwrap_err().message().to_string();
        assert!(
            msg(encode_image_struct(&s, 2, 1, 2, 3, 16, &[0; 6])).starts_with("field 'gray': Unexpected dimensions")
        );
        assert!(msg(encode_image_struct(&s, 1, 1, 2, 3, 16, &[0; 5])).starts_with("field 'rgb': image data is 5 bytes"));
        assert!(msg(encode_image_struct(&s, 1, -1, -1, -1, -1, &[])).contains("could not decode"));
        assert!(msg(encode_image_struct(&s, 6, 2, 2, 1, 0, &[0; 4])).contains("field is uint16"));
        assert!(msg(encode_image_struct(&s, 3, 2, 2, 1, 0, &[0; 4])).starts_with("field 'm'"));
        assert!(decode_image_struct(&s, 4, &encode_values(&s, 4, None, Some(&[1, 2, 1]), &[0; 8]).unwrap())
            .unwrap_err()
            .message()
            .starts_with("field 'v': a Spark image needs a uint8 array"));
    }

    #[test]
    fn decoded_values_widen_to_spark_types() {
        let s = schema();
        assert_eq!(decoded_element_type(&s, 3).unwrap(), SparkType::Short);
        assert_eq!(decoded_element_type(&s, 4).unwrap(), SparkType::Float);
        assert_eq!(decoded_element_type(&s, 5).unwrap(), SparkType::Float);
        assert_eq!(decoded_element_type(&s, 6).unwrap(), SparkType::Integer);
        assert_eq!(decoded_element_type(&s, 8).unwrap(), SparkType::String);
        assert!(decoded_element_type(&s, 0).is_err());
        let cell = encode_values(&s, 3, None, None, &[1, 2, 255]).unwrap();
        let t = decode_values(&s, 3, &cell).unwrap();
        assert_eq!((t.dtype.descr(), t.shape.as_slice()), ("<i2".to_string(), &[1usize, 3][..]));
        assert_eq!(t.data, [1, 0, 2, 0, 255, 0]);
        let h = encode_values(&s, 5, Some("<f4"), None, &[0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]).unwrap();
        let t = decode_values(&s, 5, &h).unwrap();
        assert_eq!(t.data, [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]); // 1.5, -2.0
        let png = image::encode(
            &crate::codec::TensorRef {
                dtype: ArrayDType::parse("<u2").unwrap(),
                shape: &[2, 2],
                fortran_order: false,
                data: &[1, 1, 2, 2, 3, 3, 4, 4],
            },
            crate::codec::ImageFormat::Png,
            80,
        )
        .unwrap();
        let t = decode_values(&s, 6, &png).unwrap();
        assert_eq!(t.data, le_i32(&[257, 514, 771, 1028]));
        assert!(decode_values(&s, 3, b"junk").unwrap_err().message().starts_with("field 'm'"));
    }

    #[test]
    fn shapes_resolve_from_the_field() {
        let s = schema();
        let f = |i: usize| s.field(i).unwrap();
        assert_eq!(resolve_shape(f(3), 9, None).unwrap(), [3, 3]);
        assert_eq!(resolve_shape(f(2), 4, None).unwrap(), [2, 2]);
        assert!(resolve_shape(f(2), 5, None).is_err());
        assert_eq!(resolve_shape(f(4), 4, Some(&[1, 2, 2])).unwrap(), [1, 2, 2]);
        assert_eq!(resolve_shape(f(3), 0, None).unwrap(), [0, 3]);
    }
}
