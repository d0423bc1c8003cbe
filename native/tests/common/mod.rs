//! Schemas and paths shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use petastorm_native::schema::Unischema;

/// Upstream's hello-world schema (DESIGN.md).
pub const HELLO_WORLD: &str = r#"{"name": "HelloWorldSchema", "fields": [
 {"name": "id", "dtype": "int32", "shape": [], "nullable": false,
  "codec": {"type": "scalar", "spark_type": "integer"}},
 {"name": "image1", "dtype": "uint8", "shape": [128, 256, 3], "nullable": false,
  "codec": {"type": "compressed_image", "format": "png", "quality": 80}},
 {"name": "other_data", "dtype": "uint8", "shape": [null, 128, 30, null], "nullable": false,
  "codec": {"type": "ndarray"}}]}"#;

/// The schema of the `petastorm-0.13.1/jpeg` fixture.
pub const PHOTO: &str = r#"{"name": "PhotoSchema", "fields": [
 {"name": "id", "dtype": "int64", "shape": [], "nullable": false,
  "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "label", "dtype": "str", "shape": [], "nullable": false,
  "codec": {"type": "scalar", "spark_type": "string"}},
 {"name": "image", "dtype": "uint8", "shape": [224, 224, 3], "nullable": false,
  "codec": {"type": "compressed_image", "format": "jpeg", "quality": 90}},
 {"name": "embedding", "dtype": "float32", "shape": [128], "nullable": true,
  "codec": {"type": "compressed_ndarray"}}]}"#;

pub fn hello_world() -> Unischema {
    Unischema::from_json(HELLO_WORLD).unwrap()
}

pub fn photo() -> Unischema {
    Unischema::from_json(PHOTO).unwrap()
}

/// `../shared/fixtures` relative to the project root.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// The project's Python with NumPy and pyarrow: `$PETASTORM_PYTHON`, else the project's
/// `.venv`. A test that needs it fails without it (it never passes by skipping).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PETASTORM_PYTHON") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "this test needs the project venv ({}) or PETASTORM_PYTHON set to a Python with NumPy and pyarrow",
        p.display()
    );
    p
}

/// Runs `python -c script args...`; panics with its stderr when it fails; returns its stdout.
pub fn run_python(script: &str, args: &[&std::path::Path]) -> String {
    let out = std::process::Command::new(python()).arg("-c").arg(script).args(args).output().unwrap();
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "petastorm-native-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
