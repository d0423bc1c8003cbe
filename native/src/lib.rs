//! Petastorm, native: Unischema, codecs, dataset metadata and the reader/writer engine,
//! exported to Python through a C ABI and to the JVM through JNI.

pub mod codec;
pub mod dataset;
pub mod dtype;
pub mod error;
pub mod ffi;
pub mod logging;
pub mod schema;
pub mod storage;

pub use error::{Error, ErrorKind, Result};
