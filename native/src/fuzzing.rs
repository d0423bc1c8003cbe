//! Fuzz target bodies: each takes any bytes and must never panic, only return or fail an
//! assertion on a broken invariant. The cargo-fuzz binaries in `native/fuzz` call them (nightly,
//! sanitizers); `tests/fuzz_replay.rs` replays the committed seeds and crash inputs through them
//! on stable, so the normal `cargo test` smoke-runs every target.

use crate::dataset::metadata::{key_value_metadata, parquet_footer_len, schema_from_metadata};
use crate::ffi::api::validate_row_json;
use crate::schema::pickle_read::from_pickle;
use crate::schema::{decode_cell, decoded_len, encode_cell};
use crate::{ErrorKind, Unischema};

/// Fields of every binary codec, fixed and open shapes, several dtypes.
const SCHEMA: &str = r#"{"name": "Fuzz", "fields": [
 {"name": "f32_any", "dtype": "float32", "shape": [null, null], "nullable": true, "codec": {"type": "ndarray"}},
 {"name": "u8_vec", "dtype": "uint8", "shape": [null], "nullable": true, "codec": {"type": "ndarray"}},
 {"name": "s_any", "dtype": "str", "shape": [null], "nullable": true, "codec": {"type": "ndarray"}},
 {"name": "i16_fixed", "dtype": "int16", "shape": [4, 3], "nullable": true, "codec": {"type": "ndarray"}},
 {"name": "z_f64", "dtype": "float64", "shape": [null, null, null], "nullable": true, "codec": {"type": "compressed_ndarray"}},
 {"name": "z_u8", "dtype": "uint8", "shape": [null], "nullable": true, "codec": {"type": "compressed_ndarray"}},
 {"name": "png_rgb", "dtype": "uint8", "shape": [null, null, 3], "nullable": true, "codec": {"type": "compressed_image", "format": "png", "quality": 80}},
 {"name": "png_u16", "dtype": "uint16", "shape": [null, null], "nullable": true, "codec": {"type": "compressed_image", "format": "png", "quality": 80}},
 {"name": "jpeg_rgb", "dtype": "uint8", "shape": [null, null, 3], "nullable": true, "codec": {"type": "compressed_image", "format": "jpeg", "quality": 80}},
 {"name": "jpeg_gray", "dtype": "uint8", "shape": [8, 8], "nullable": true, "codec": {"type": "compressed_image", "format": "jpeg", "quality": 80}},
 {"name": "id", "dtype": "int64", "shape": [], "nullable": false, "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "name", "dtype": "str", "shape": [], "nullable": true, "codec": null}
]}"#;

/// A target body: any bytes in, a panic only on a broken invariant.
pub type Target = fn(&[u8]);

/// Every target by name, as `tests/fuzz_replay.rs` and the fuzz binaries know them.
pub const TARGETS: &[(&str, Target)] = &[
    ("npy", npy),
    ("npz", npz),
    ("png", png),
    ("jpeg", jpeg),
    ("pickle", pickle),
    ("unischema_json", unischema_json),
    ("footer", footer),
    ("row_check", row_check),
];

/// The fuzz schema (parsed once per call: cheap next to decoding).
fn schema() -> Unischema {
    Unischema::from_json(SCHEMA).expect("the fuzz schema parses")
}

/// Decodes `cell` as one of `fields` (by name, chosen by the input's first byte) the way the
/// reader does; a decoded tensor must hold exactly the bytes its shape announces, and every
/// failure must be a `Decode` error naming the field.
fn decode_as(fields: &[&str], data: &[u8]) {
    let Some((&pick, cell)) = data.split_first() else { return };
    let schema = schema();
    let name = fields[pick as usize % fields.len()];
    let index = schema.fields().iter().position(|f| f.name == name).expect("a field of the fuzz schema");
    let _budget = decoded_len(&schema.fields()[index], [Some(cell)].into_iter());
    match decode_cell(&schema, index, cell) {
        Ok(t) => t.view().check_len().expect("a decoded tensor holds what its shape announces"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
            assert!(e.message().contains(&format!("field '{name}'")), "{e}");
        }
    }
}

/// NPY cells decoded as the `ndarray` fields.
pub fn npy(data: &[u8]) {
    decode_as(&["f32_any", "u8_vec", "s_any", "i16_fixed"], data)
}

/// NPZ cells decoded as the `compressed_ndarray` fields.
pub fn npz(data: &[u8]) {
    decode_as(&["z_f64", "z_u8"], data)
}

/// PNG cells decoded as the PNG image fields.
pub fn png(data: &[u8]) {
    decode_as(&["png_rgb", "png_u16"], data)
}

/// JPEG cells decoded as the JPEG image fields.
pub fn jpeg(data: &[u8]) {
    decode_as(&["jpeg_rgb", "jpeg_gray"], data)
}

/// The allow-list pickle reader (`dataset-toolkit.unischema.v1`): a schema read must survive
/// the JSON round trip.
pub fn pickle(data: &[u8]) {
    if let Ok(schema) = from_pickle(data) {
        assert_eq!(Unischema::from_json(&schema.to_json()).expect("its own JSON parses"), schema);
    }
}

/// The Unischema JSON (`dataset-toolkit.unischema.json.v1`): a schema parsed must round-trip
/// through its JSON and map to Spark types or fail cleanly.
pub fn unischema_json(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else { return };
    if let Ok(schema) = Unischema::from_json(json) {
        assert_eq!(Unischema::from_json(&schema.to_json()).expect("its own JSON parses"), schema);
        let _ = schema.spark_schema_json();
        let _ = schema.match_fields(&[".*"]);
    }
}

/// Footers and `_common_metadata`: the footer length, the key/value walk and the Unischema
/// stored there (JSON or pickle).
pub fn footer(data: &[u8]) {
    let _ = parquet_footer_len(data);
    if let Ok(entries) = key_value_metadata(data) {
        assert!(entries.iter().all(|(_, v)| v.len() <= data.len()), "values lie inside the footer");
    }
    let _ = schema_from_metadata(data);
}

/// The row check and cell encoding of `dict_to_spark_row`: the whole input as a row-check JSON,
/// then as a value put into a field. Layout: field byte, fortran byte, rank byte, rank ×
/// dimension byte, dtype up to ';', then the raw elements. A cell we encoded must decode.
pub fn row_check(data: &[u8]) {
    let schema = schema();
    if let Ok(json) = std::str::from_utf8(data) {
        let _ = validate_row_json(&schema, json);
    }
    let [field, fortran, rank, rest @ ..] = data else { return };
    let field = *field as usize % schema.fields().len();
    let Some((dims, rest)) = rest.split_at_checked(*rank as usize % 5) else { return };
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize % 17).collect();
    let cut = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
    let (Ok(dtype), elements) = (std::str::from_utf8(&rest[..cut]), rest.get(cut + 1..).unwrap_or_default()) else {
        return;
    };
    if let Ok(cell) = encode_cell(&schema, field, dtype, &shape, fortran & 1 == 1, elements) {
        if !cell.is_empty() {
            decode_cell(&schema, field, &cell).expect("a cell we encoded decodes");
        }
    }
}
