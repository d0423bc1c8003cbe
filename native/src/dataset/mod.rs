//! Datasets on disk: metadata (`_common_metadata`) and, later, the reader pipeline.

mod footer_kv;
pub mod metadata;
