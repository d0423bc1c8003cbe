//! Decodes every codec cell of the datasets upstream Petastorm 0.13.1 wrote
//! (`../shared/fixtures/petastorm-0.13.1/{hello,mnist,jpeg}`) and compares each with the
//! value upstream decoded (`*.expected.npz`), exactly: JPEG too, as both decode with libjpeg-turbo.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use petastorm_native::codec::{image, npy, npz, Expect, Tensor};
use petastorm_native::dtype::{ArrayDType, Kind};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/petastorm-0.13.1")
}

/// Reads every member of a multi-member `numpy.savez_compressed` file, each decoded
/// with `expect_for(member name)`.
fn read_npz(path: &Path, expect_for: impl Fn(&str) -> Option<(Kind, Vec<Option<usize>>)>) -> HashMap<String, Tensor> {
    let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
    let mut members = HashMap::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).unwrap();
        let name = member.name().trim_end_matches(".npy").to_string();
        let Some((kind, shape)) = expect_for(&name) else {
            continue;
        };
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).unwrap();
        let tensor = npy::decode(&bytes, &Expect { kind, itemsize: None, shape: &shape }).unwrap();
        members.insert(name, tensor);
    }
    members
}

/// UCS-4 little-endian bytes of one `<U` element, without the NUL padding.
fn ucs4_string(data: &[u8]) -> String {
    data.chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .take_while(|u| *u != 0)
        .map(|u| char::from_u32(u).unwrap())
        .collect()
}

/// A codec field as `__fields__` lists it.
struct Field {
    name: String,
    dtype: ArrayDType,
    shape: Vec<Option<usize>>,
    codec: String,
}

impl Field {
    fn expect(&self) -> Expect<'_> {
        Expect { kind: self.dtype.kind, itemsize: Some(self.dtype.itemsize), shape: &self.shape }
    }

    fn decode(&self, cell: &[u8]) -> Tensor {
        let decoded = if self.codec.starts_with("CompressedImageCodec") {
            image::decode(cell, &self.expect())
        } else if self.codec.starts_with("NdarrayCodec") {
            npy::decode(cell, &self.expect())
        } else {
            npz::decode(cell, &self.expect())
        };
        decoded.unwrap_or_else(|e| panic!("field {}: {e}", self.name))
    }
}

/// Checks every binary codec cell of `dataset` against its expected npz; returns the number
/// of cells compared.
fn check_dataset(dataset: &str, id_column: &str) -> usize {
    let expected_path = fixtures().join(format!("{dataset}.expected.npz"));
    let meta = read_npz(&expected_path, |name| match name {
        "__fields__" => Some((Kind::Unicode, vec![])),
        "__none__" => Some((Kind::Unicode, vec![None])),
        _ => None,
    });
    let fields_json = ucs4_string(&meta["__fields__"].data);
    let none_cells: Vec<String> =
        meta["__none__"].data.chunks(meta["__none__"].dtype.itemsize.max(1)).map(ucs4_string).collect();
    let fields: Vec<Field> = serde_json::from_str::<Vec<serde_json::Value>>(&fields_json)
        .unwrap()
        .into_iter()
        .filter(|f| !f[3].as_str().unwrap().starts_with("ScalarCodec"))
        .map(|f| Field {
            name: f[0].as_str().unwrap().to_string(),
            dtype: ArrayDType::parse(f[1].as_str().unwrap()).unwrap(),
            shape: f[2].as_array().unwrap().iter().map(|d| d.as_u64().map(|d| d as usize)).collect(),
            codec: f[3].as_str().unwrap().to_string(),
        })
        .collect();
    let by_name: HashMap<&str, &Field> = fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let expected = read_npz(&expected_path, |name| {
        let field = by_name.get(name.split('/').next()?)?;
        Some((field.dtype.kind, field.shape.clone()))
    });

    let mut compared = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dataset))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    for path in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap().build().unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let ids = batch.column_by_name(id_column).unwrap();
            let ids: Vec<i64> = match ids.as_primitive_opt::<Int64Type>() {
                Some(a) => a.values().to_vec(),
                None => ids.as_primitive::<Int32Type>().values().iter().map(|v| i64::from(*v)).collect(),
            };
            for field in &fields {
                let cells = batch.column_by_name(&field.name).unwrap().as_binary::<i32>();
                for (row, id) in ids.iter().enumerate() {
                    let key = format!("{}/{id}", field.name);
                    if cells.is_null(row) {
                        assert!(none_cells.contains(&key), "{key} is null but expected a value");
                        continue;
                    }
                    let decoded = field.decode(cells.value(row));
                    let want = &expected[&key];
                    assert_eq!((decoded.dtype, &decoded.shape), (want.dtype, &want.shape), "{key}");
                    assert!(decoded.data == want.data, "{key} differs");
                    compared += 1;
                }
            }
        }
    }
    compared
}

#[test]
fn hello_world_png_and_npy_cells_match_upstream() {
    assert_eq!(check_dataset("hello", "id"), 2 * 20);
}

#[test]
fn mnist_npy_cells_match_upstream() {
    assert_eq!(check_dataset("mnist", "idx"), 300);
}

#[test]
fn jpeg_and_npz_cells_match_upstream() {
    // 40 images and the 34 embeddings that are not None.
    assert_eq!(check_dataset("jpeg", "id"), 40 + 34);
}
