//! Writes one Parquet part file of a dataset from rows of cells, into a local file or into
//! chunks the caller drains (the JVM streams them to any Hadoop FileSystem). Columns are stored
//! as Spark stores the Unischema's `as_spark_schema` types; codec cells are already-encoded bytes.

mod column;
mod sink;

use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::{Field as ArrowField, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::schema::column::{encode_image_struct_into, encode_values_into, ImageStruct};
use crate::schema::{cell, Codec, Unischema};
use column::{Column, Value};
pub use sink::Sink;

/// Buffered rows are handed to the Parquet encoder every this many rows…
const BATCH_ROWS: usize = 64;
/// …or when they hold at least this many bytes (or a row group's worth, when that is less).
const BATCH_BYTES: usize = 8 << 20;
/// The footer key where Spark keeps the Spark schema of the rows (`StructType.json()`).
const SPARK_ROW_METADATA_KEY: &str = "org.apache.spark.sql.parquet.row.metadata";
/// Spark's (parquet-mr's) default zstd level.
const ZSTD_LEVEL: i32 = 3;

/// The reason the native writer cannot write `schema` (a field of a type it does not store),
/// or `None` when it can.
pub fn unsupported_field(schema: &Unischema) -> Option<String> {
    schema.fields().iter().find_map(|f| Column::new(f).err()).map(|e| e.message().to_string())
}

/// Parquet compression by Spark's `spark.sql.parquet.compression.codec` names (case-insensitive).
fn compression(name: &str) -> Result<Compression> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "snappy" => Compression::SNAPPY,
        "zstd" => Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL).map_err(write_error)?),
        "gzip" => Compression::GZIP(GzipLevel::default()),
        "lz4" | "lz4_raw" => Compression::LZ4_RAW,
        "none" | "uncompressed" => Compression::UNCOMPRESSED,
        _ => {
            return Err(Error::value(format!(
                "unsupported Parquet compression codec '{name}' (snappy, zstd, gzip, lz4, none)"
            )))
        }
    })
}

fn write_error(e: parquet::errors::ParquetError) -> Error {
    Error::io(format!("writing Parquet: {e}"))
}

/// Writes one Parquet file of a dataset, row by row (`put_*` each cell, then [`end_row`]).
///
/// Rows are buffered, encoded in batches and cut into row groups of about `row_group_bytes`
/// (encoded). Any failed call discards the current row, so the file only ever holds whole
/// rows and the writer stays usable.
///
/// [`end_row`]: PartWriter::end_row
pub struct PartWriter {
    schema: Unischema,
    arrow_schema: SchemaRef,
    columns: Vec<Column>,
    /// Complete rows in the column buffers (each column holds these, plus the current row's cell once put).
    buffered: usize,
    rows: u64,
    row_group_bytes: usize,
    writer: ArrowWriter<Sink>,
    /// Where the file goes, for log records: `'path'` or `a stream`.
    destination: String,
}

impl PartWriter {
    /// A writer of `schema`'s columns with compression `compression` (Spark's codec names:
    /// snappy, zstd, gzip, lz4, none/uncompressed) whose output the caller drains with
    /// [`take_output`](PartWriter::take_output); Date, Timestamp and Decimal columns are
    /// `Value` errors (see [`unsupported_field`]).
    pub fn new(schema: Unischema, row_group_bytes: usize, compression: &str) -> Result<PartWriter> {
        Self::with_sink(schema, row_group_bytes, compression, Sink::chunks(), "a stream".into())
    }

    /// Like [`new`](PartWriter::new), writing to a new local file at `path` instead.
    pub fn to_file(schema: Unischema, path: &Path, row_group_bytes: usize, compression: &str) -> Result<PartWriter> {
        let destination = format!("'{}'", path.display());
        Self::with_sink(schema, row_group_bytes, compression, Sink::file(path)?, destination)
    }

    /// Like [`new`](PartWriter::new), writing a new file at `url` on any store (see [`Sink::at`]).
    pub fn to_url(
        schema: Unischema,
        url: &str,
        storage_options: &[(String, String)],
        row_group_bytes: usize,
        compression: &str,
    ) -> Result<PartWriter> {
        Self::with_sink(schema, row_group_bytes, compression, Sink::at(url, storage_options)?, format!("'{url}'"))
    }

    fn with_sink(
        schema: Unischema,
        row_group_bytes: usize,
        compression: &str,
        sink: Sink,
        destination: String,
    ) -> Result<PartWriter> {
        let mut props = WriterProperties::builder()
            .set_compression(self::compression(compression)?)
            .set_max_row_group_size(usize::MAX);
        let mut columns = Vec::new();
        let mut arrow_fields = Vec::new();
        for field in schema.fields() {
            let (column, data_type) = Column::new(field)?;
            if !field.is_scalar_column() {
                // Large unique blobs: dictionaries and min/max statistics only cost CPU.
                let path = ColumnPath::new(vec![field.name.clone()]);
                props = props
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_statistics_enabled(path.clone(), EnabledStatistics::None);
                if matches!(field.codec, Some(Codec::CompressedImage { .. } | Codec::CompressedNdarray)) {
                    // PNG, JPEG and NPZ cells are compressed already: a second codec only costs CPU.
                    props = props.set_column_compression(path, Compression::UNCOMPRESSED);
                }
            }
            arrow_fields.push(ArrowField::new(&field.name, data_type, field.nullable));
            columns.push(column);
        }
        let spark_schema = KeyValue::new(SPARK_ROW_METADATA_KEY.into(), schema.spark_schema_json()?);
        let props = props.set_key_value_metadata(Some(vec![spark_schema])).build();
        let arrow_schema = Arc::new(Schema::new(arrow_fields));
        let writer = ArrowWriter::try_new(sink, arrow_schema.clone(), Some(props)).map_err(write_error)?;
        log::debug!("writing a Parquet part file of schema '{}' ({compression}) to {destination}", schema.name());
        Ok(PartWriter { schema, arrow_schema, columns, buffered: 0, rows: 0, row_group_bytes, writer, destination })
    }

    /// Puts null into field `index` of the current row (a `Value` error when not nullable).
    pub fn put_null(&mut self, index: usize) -> Result<()> {
        self.put(index, None)
    }

    pub fn put_bool(&mut self, index: usize, value: bool) -> Result<()> {
        self.put(index, Some(Value::Bool(value)))
    }

    /// Puts an integer into a byte/short/integer/long column (range-checked).
    pub fn put_long(&mut self, index: usize, value: i64) -> Result<()> {
        self.put(index, Some(Value::Long(value)))
    }

    /// Puts a number into a float (rounded) or double column.
    pub fn put_double(&mut self, index: usize, value: f64) -> Result<()> {
        self.put(index, Some(Value::Double(value)))
    }

    pub fn put_str(&mut self, index: usize, value: &str) -> Result<()> {
        self.put(index, Some(Value::Str(value)))
    }

    /// Puts a binary value: a binary scalar, or an encoded cell of a codec field.
    pub fn put_bytes(&mut self, index: usize, value: &[u8]) -> Result<()> {
        self.put(index, Some(Value::Bytes(value)))
    }

    /// Encodes elements for codec field `index` ([`crate::schema::column::encode_values`]) and puts the cell.
    pub fn put_values(
        &mut self,
        index: usize,
        dtype: Option<&str>,
        shape: Option<&[usize]>,
        data: &[u8],
    ) -> Result<()> {
        self.put_encoded(index, |schema, out| encode_values_into(schema, index, (dtype, shape, data), out))
    }

    /// Checks and encodes a NumPy value for codec field `index` as `dict_to_spark_row` does
    /// ([`cell::encode_cell`]: `dtype` is NumPy's `dtype.str`) and puts the cell.
    pub fn put_array(&mut self, index: usize, dtype: &str, shape: &[usize], fortran: bool, data: &[u8]) -> Result<()> {
        self.put_encoded(index, |schema, out| cell::encode_cell_into(schema, index, (dtype, shape, fortran, data), out))
    }

    /// Encodes a Spark image struct for codec field `index` ([`crate::schema::column::encode_image_struct`])
    /// and puts the cell.
    pub fn put_image_struct(&mut self, index: usize, image: ImageStruct) -> Result<()> {
        self.put_encoded(index, |schema, out| encode_image_struct_into(schema, index, image, out))
    }

    /// Puts the cell `encode` appends straight into field `index`'s column (no copy of the cell).
    fn put_encoded(&mut self, index: usize, encode: impl FnOnce(&Unischema, &mut Vec<u8>) -> Result<()>) -> Result<()> {
        let (schema, columns) = (&self.schema, &mut self.columns);
        let put = schema.field(index).and_then(|_| columns[index].put_with(self.buffered, |out| encode(schema, out)));
        put.map_err(|e| self.discard_row(e))
    }

    fn put(&mut self, index: usize, value: Option<Value>) -> Result<()> {
        let put = self.schema.field(index).and_then(|_| self.columns[index].put(self.buffered, value));
        put.map_err(|e| self.discard_row(e))
    }

    /// Ends the current row: fields not put are null (a `Value` error for non-nullable ones).
    /// Hands buffered rows to the encoder and cuts row groups as they fill.
    pub fn end_row(&mut self) -> Result<()> {
        let row = self.buffered;
        if let Err(e) = self.columns.iter_mut().try_for_each(|c| c.end_row(row)) {
            return Err(self.discard_row(e));
        }
        self.buffered += 1;
        self.rows += 1;
        let bytes: usize = self.columns.iter().map(Column::heap_bytes).sum();
        if self.buffered >= BATCH_ROWS || bytes >= BATCH_BYTES.min(self.row_group_bytes) {
            self.write_batch()?;
            if self.writer.in_progress_size() >= self.row_group_bytes {
                self.writer.flush().map_err(write_error)?;
            }
        }
        Ok(())
    }

    /// Drops the current row's cells from every column; returns `e`.
    fn discard_row(&mut self, e: Error) -> Error {
        self.columns.iter_mut().for_each(|c| c.truncate(self.buffered));
        e
    }

    /// Encodes the buffered rows into the current row group.
    fn write_batch(&mut self) -> Result<()> {
        let arrays = self.columns.iter_mut().map(Column::take_array).collect::<Result<Vec<_>>>()?;
        self.buffered = 0;
        let batch =
            RecordBatch::try_new(self.arrow_schema.clone(), arrays).map_err(|e| Error::internal(e.to_string()))?;
        self.writer.write(&batch).map_err(write_error)
    }

    /// The next chunk of the file produced so far (see [`Sink::take_chunk`]).
    pub fn take_output(&mut self) -> Vec<u8> {
        self.writer.inner_mut().take_chunk()
    }

    /// Writes the buffered rows and the footer (a file sink is flushed). Returns the sink with the
    /// output not yet taken, the number of rows and of row groups. A row without
    /// [`end_row`](PartWriter::end_row) is an error.
    pub fn finish(mut self) -> Result<(Sink, u64, usize)> {
        if let Some(c) = self.columns.iter().find(|c| c.rows() > self.buffered) {
            let name = c.name();
            return Err(Error::value(format!("the current row (field '{name}' put) was not ended before finish")));
        }
        if self.buffered > 0 {
            self.write_batch()?;
        }
        self.writer.flush().map_err(write_error)?;
        let row_groups = self.writer.flushed_row_groups().len();
        let bytes: i64 = self.writer.flushed_row_groups().iter().map(|g| g.compressed_size()).sum();
        let mut sink = self.writer.into_inner().map_err(write_error)?; // writes the footer
        sink.finish_output()?;
        log::info!(
            "wrote a Parquet part file to {}: {} rows in {row_groups} row groups ({bytes} compressed bytes of data)",
            self.destination,
            self.rows
        );
        Ok((sink, self.rows, row_groups))
    }
}

/// A [`PartWriter`] as the bindings hold it behind a handle: locked per call; its output can be
/// taken also after [`finish`](SharedPartWriter::finish).
pub struct SharedPartWriter(Mutex<State>);

enum State {
    Open(Box<PartWriter>),
    Finished(Sink),
}

impl SharedPartWriter {
    pub fn new(writer: PartWriter) -> Self {
        SharedPartWriter(Mutex::new(State::Open(Box::new(writer))))
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.0.lock().map_err(|_| Error::internal("the Parquet writer is unusable after a panic"))
    }

    /// Runs `f` on the open writer (a `Value` error once finished).
    pub fn with<T>(&self, f: impl FnOnce(&mut PartWriter) -> Result<T>) -> Result<T> {
        match &mut *self.state()? {
            State::Open(w) => f(w),
            State::Finished(_) => Err(Error::value("the Parquet writer is finished")),
        }
    }

    /// The next chunk of output, also after `finish` (the rest of the file); empty when none.
    pub fn take_output(&self) -> Result<Vec<u8>> {
        Ok(match &mut *self.state()? {
            State::Open(w) => w.take_output(),
            State::Finished(sink) => sink.take_chunk(),
        })
    }

    /// [`PartWriter::finish`], keeping the rest of the output for `take_output`: (rows, row groups).
    /// Any later put or finish is an error, also after a failed finish.
    pub fn finish(&self) -> Result<(u64, usize)> {
        let mut state = self.state()?;
        let w = match std::mem::replace(&mut *state, State::Finished(Sink::chunks())) {
            State::Open(w) => w,
            finished => {
                *state = finished;
                return Err(Error::value("the Parquet writer is finished"));
            }
        };
        let (sink, rows, row_groups) = w.finish()?;
        *state = State::Finished(sink);
        Ok((rows, row_groups))
    }
}
