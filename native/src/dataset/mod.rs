//! Datasets on disk: metadata (`_common_metadata`), the reader engine (discovery, plan,
//! predicates, decoding to Arrow, pipeline), the part-file writer and the local commit protocol.

mod checksum;
pub mod commit;
pub mod converter_cache;
pub mod converter_dir;
mod footer_kv;
pub mod metadata;

mod damage;
mod decode;
pub mod discovery;
mod item;
pub mod ngram;
pub mod options;
mod pages;
mod pipeline;
pub mod plan;
pub mod predicate;
pub mod reader;
pub mod summary;
mod thrift;
mod values;
pub mod view;
pub mod writer;

pub use decode::CellDecoder;
