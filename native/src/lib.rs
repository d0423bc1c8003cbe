//! Petastorm, native: Unischema, codecs, dataset metadata and the reader/writer engine,
//! exported to Python through a C ABI and to the JVM through JNI, and usable from Rust.
//!
//! # Reading a dataset from Rust
//!
//! [`ReaderOptions`] carries `make_reader`'s options (upstream's names and defaults);
//! [`Reader::open`] opens the dataset, [`Reader::schema`] is the [`Unischema`] of the fields
//! read, and [`Reader::batches`] yields decoded Arrow batches (layout in `docs/ffi.md`,
//! "Decoded batch layout"). [`tensors`] turns their columns into [`ndarray`] arrays:
//!
//! ```no_run
//! use petastorm_native::arrow::datatypes::{Int64Type, UInt8Type};
//! use petastorm_native::{tensors, Reader, ReaderOptions};
//!
//! let mut options = ReaderOptions::for_url("file:///data/mnist");
//! options.schema_fields = Some(vec!["idx".into(), "image".into()]);
//! options.shuffle_row_groups = false;
//! let reader = Reader::open(&options)?;
//! println!("{}", reader.schema().to_json());
//! for batch in reader.batches() {
//!     let batch = batch?;
//!     let images = tensors::column_view::<UInt8Type>(&batch, "image")?; // (rows, 28, 28)
//!     let ids = tensors::column_view::<Int64Type>(&batch, "idx")?; // (rows,)
//!     println!("{:?} {:?}", ids.shape(), images.shape());
//! }
//! # Ok::<(), petastorm_native::Error>(())
//! ```

/// The library's heap: mimalloc keeps freed batch buffers for the next batch (see native/Cargo.toml).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod codec;
pub mod dataset;
pub mod dtype;
pub mod error;
pub mod ffi;
/// Fuzz target bodies (for `native/fuzz` and `tests/fuzz_replay.rs`), not API.
#[doc(hidden)]
pub mod fuzzing;
pub mod logging;
pub mod schema;
pub mod storage;
pub mod tensors;

/// The Arrow crate batches are built with (use its types, whatever `arrow` version you depend on).
pub use arrow;
pub use dataset::options::ReaderOptions;
pub use dataset::reader::Reader;
pub use error::{Error, ErrorKind, Result};
/// The ndarray crate of [`tensors`].
pub use ndarray;
pub use schema::Unischema;
