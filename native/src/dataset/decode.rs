//! Stored columns → the decoded batch layout of `docs/ffi.md`: scalars as the Arrow type of
//! the field's NumPy dtype, fixed-shape tensors as `arrow.fixed_shape_tensor`, variable-shape
//! tensors as struct `{data: list<T>, shape: fixed_size_list<int32>[ndim]}`. Cells of a column
//! decode in parallel on the current Rayon pool.
//!
//! Planar images (reader option `planar_images`): a fixed (H, W, 3) image field is stored as
//! channel planes, physical shape `[3, H, W]` with `permutation` `[1, 2, 0]` (logically still
//! (H, W, 3)), each cell split into its planes as it is copied out of the decoder's buffer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    make_array, Array, ArrayData, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BinaryViewArray, BooleanArray,
    FixedSizeListArray, Int32Array, ListArray, StringBuilder, StructArray,
};
use arrow::buffer::{Buffer, MutableBuffer, NullBuffer, OffsetBuffer};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field as ArrowField, FieldRef, Int32Type};
use arrow_schema::extension::{FixedShapeTensor, EXTENSION_TYPE_METADATA_KEY};
use rayon::prelude::*;

use crate::codec::{byte_len, image, npy, pixels, Tensor};
use crate::dtype::{ArrayDType, Kind};
use crate::error::{Error, Result};
use crate::schema::{decode_cell, decoded_len, Codec, Field, FieldDType, Unischema};

/// A decoded column and its Arrow field (with extension metadata for tensors).
pub struct Column {
    pub field: FieldRef,
    pub array: ArrayRef,
}

/// The error a cancelled decode returns (never shown: the result is dropped).
pub fn cancelled() -> Error {
    Error::internal("cancelled: the reader was stopped")
}

/// The bytes the tensor columns of one batch may decode to (reader option
/// `decode_memory_limit`), charged column by column before any cell of a column is decoded.
pub struct Budget {
    limit: u64,
    used: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Budget { limit, used: 0 }
    }

    /// Adds `bytes` decoded for `field`; a `Decode` error naming the field and the sizes when
    /// the batch would then exceed the limit.
    fn charge(&mut self, field: &Field, bytes: u64) -> Result<()> {
        let total = self.used.saturating_add(bytes);
        if total > self.limit {
            return Err(Error::decode(format!(
                "field '{}': its cells decode to {bytes} bytes, bringing this batch to {total} bytes, \
                 more than decode_memory_limit ({} bytes)",
                field.name, self.limit
            )));
        }
        self.used = total;
        Ok(())
    }
}

/// Decodes the stored column `raw` of field `index` of `schema`, within `budget`.
/// `batch_mode` passes codec-less columns through as read; `planar` stores a fixed RGB image
/// field as channel planes.
pub fn decode_column(
    schema: &Unischema,
    index: usize,
    raw: &ArrayRef,
    batch_mode: bool,
    planar: bool,
    budget: &mut Budget,
    stop: &AtomicBool,
) -> Result<Column> {
    let field = schema.field(index)?;
    let plain = |array: ArrayRef| Column {
        field: Arc::new(ArrowField::new(&field.name, array.data_type().clone(), true)),
        array,
    };
    match field.codec {
        _ if decodes_cells(field) => {
            let start = Instant::now();
            let column = tensor_column(schema, index, raw, planar, budget, stop)?;
            log::trace!("field '{}': decoded {} cells in {} ms", field.name, raw.len(), start.elapsed().as_millis());
            Ok(column)
        }
        // decoded by the binding with the user's codec
        Some(Codec::Custom { .. }) => Ok(plain(Arc::clone(raw))),
        _ => scalar_column(field, raw, batch_mode).map(plain),
    }
}

/// Whether the field's stored cells are decoded here (NumPy arrays and images), not passed
/// through (scalars, custom codecs).
pub fn decodes_cells(field: &Field) -> bool {
    matches!(field.codec, Some(Codec::Ndarray | Codec::CompressedNdarray | Codec::CompressedImage { .. }))
}

/// The Arrow type of a NumPy scalar type (`None` for decimals and datetimes, kept as stored).
pub fn arrow_type(dtype: FieldDType) -> Option<DataType> {
    use FieldDType as F;
    Some(match dtype {
        F::Bool => DataType::Boolean,
        F::Int8 => DataType::Int8,
        F::Int16 => DataType::Int16,
        F::Int32 => DataType::Int32,
        F::Int64 => DataType::Int64,
        F::UInt8 => DataType::UInt8,
        F::UInt16 => DataType::UInt16,
        F::UInt32 => DataType::UInt32,
        F::UInt64 => DataType::UInt64,
        F::Float16 => DataType::Float16,
        F::Float32 => DataType::Float32,
        F::Float64 => DataType::Float64,
        F::Str => DataType::Utf8,
        F::Bytes => DataType::Binary,
        F::Decimal | F::Datetime64 => return None,
    })
}

/// Scalar columns convert to the field's NumPy type (Spark stores `uint8` as `short`, …);
/// dates, timestamps, decimals and nested columns pass through, as does every codec-less
/// column in batch mode.
fn scalar_column(field: &Field, raw: &ArrayRef, batch_mode: bool) -> Result<ArrayRef> {
    let passthrough = !field.shape.is_empty() || (batch_mode && field.codec.is_none());
    let target = match arrow_type(field.dtype) {
        Some(t) if !passthrough && is_plain(raw.data_type()) && raw.data_type() != &t => t,
        _ => return Ok(Arc::clone(raw)),
    };
    let options = CastOptions { safe: false, ..Default::default() };
    cast_with_options(raw, &target, &options).map_err(|e| {
        Error::decode(format!(
            "field '{}': cannot convert {} values to {}: {e}",
            field.name,
            raw.data_type(),
            field.dtype.name()
        ))
    })
}

fn is_plain(t: &DataType) -> bool {
    t.is_numeric()
        && !matches!(
            t,
            DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..)
        )
        || matches!(
            t,
            DataType::Boolean
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::Dictionary(..)
        )
}

/// Decodes the binary cells of a codec column into a tensor column.
fn tensor_column(
    schema: &Unischema,
    index: usize,
    raw: &ArrayRef,
    planar: bool,
    budget: &mut Budget,
    stop: &AtomicBool,
) -> Result<Column> {
    let field = schema.field(index)?;
    let binary = match raw.data_type() {
        DataType::Binary | DataType::BinaryView => Arc::clone(raw),
        DataType::Dictionary(key, value) if **key == DataType::Int32 && **value == DataType::Binary => Arc::clone(raw),
        DataType::LargeBinary => cast_with_options(raw, &DataType::Binary, &CastOptions::default())
            .map_err(|e| Error::decode(format!("field '{}': {e}", field.name)))?,
        other => {
            return Err(Error::decode(format!(
                "field '{}': a {:?} codec column must be stored as binary, found {other}",
                field.name,
                field.codec.as_ref().expect("a codec field")
            )))
        }
    };
    let cells = Cells::of(field, &binary)?;
    budget.charge(field, decoded_len(field, (0..cells.len()).map(|i| cells.get(i))))?;
    let element =
        arrow_type(field.dtype).ok_or_else(|| Error::decode(format!("field '{}': decimal tensors", field.name)))?;
    let fixed: Option<Vec<usize>> = field.shape.iter().copied().collect();
    let planar = planar && fixed.as_deref().is_some_and(|shape| is_rgb_image(field, shape));
    let decoder = CellDecoder::new(schema, index)?.planar(planar);
    let decode = |i: usize| -> Result<Option<Tensor>> {
        if stop.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        match cells.get(i) {
            None => Ok(None),
            Some(cell) => decoder.decode(cell).map(Some).map_err(|e| e.context(format_args!("row {i}"))),
        }
    };
    let nulls = cells.nulls().cloned();
    // arrow-rs' canonical fixed_shape_tensor wants a non-nullable item field.
    let item = Arc::new(ArrowField::new("item", element.clone(), fixed.is_none()));
    match fixed {
        Some(shape) => {
            let size: usize = shape.iter().product();
            let values = match decoder.fixed_len() {
                Some(cell_bytes) => fixed_numeric(&cells, &decoder, cell_bytes, &element, stop)?,
                None => {
                    let tensors = (0..cells.len()).into_par_iter().map(decode).collect::<Result<Vec<_>>>()?;
                    let mut values = Values::new(field.dtype, cells.len() * size);
                    for t in &tensors {
                        values.push(t.as_ref(), size)?;
                    }
                    values.finish(&element)?
                }
            };
            let list_size = i32::try_from(size).map_err(|_| too_big(field))?;
            let array =
                FixedSizeListArray::try_new(item, list_size, values, nulls).map_err(|e| arrow_error(field, e))?;
            let (stored, permutation) = match planar {
                true => (vec![3, shape[0], shape[1]], Some(PLANAR_PERMUTATION.to_vec())),
                false => (shape, None),
            };
            let tensor = FixedShapeTensor::try_new(element, stored.iter().copied(), None, permutation.clone())
                .map_err(|e| arrow_error(field, e))?;
            let mut arrow_field = ArrowField::new(&field.name, array.data_type().clone(), true);
            arrow_field.try_with_extension_type(tensor).map_err(|e| arrow_error(field, e))?;
            // The canonical metadata without `null` members (Arrow C++ rejects `"dim_names": null`)
            // and with the spec's `permutation` key (arrow-rs writes `permutations`).
            let json = match permutation {
                Some(p) => serde_json::json!({ "shape": stored, "permutation": p }),
                None => serde_json::json!({ "shape": stored }),
            };
            let mut metadata = arrow_field.metadata().clone();
            metadata.insert(EXTENSION_TYPE_METADATA_KEY.to_string(), json.to_string());
            let arrow_field = arrow_field.with_metadata(metadata);
            Ok(Column { field: Arc::new(arrow_field), array: Arc::new(array) })
        }
        None => {
            let tensors = (0..cells.len()).into_par_iter().map(decode).collect::<Result<Vec<_>>>()?;
            let array = variable_shape(field, &element, item, &tensors, nulls)?;
            Ok(Column { field: Arc::new(ArrowField::new(&field.name, array.data_type().clone(), true)), array })
        }
    }
}

/// The logical (H, W, 3) axes of a planar image among its physical (3, H, W) ones.
const PLANAR_PERMUTATION: [usize; 3] = [1, 2, 0];

/// A compressed image field of fixed shape (H, W, 3) (uint8, or uint16 PNG): what `planar`
/// stores as channel planes. Gray and variable-shape images keep their layout.
fn is_rgb_image(field: &Field, shape: &[usize]) -> bool {
    matches!(field.codec, Some(Codec::CompressedImage { .. }))
        && matches!(field.dtype, FieldDType::UInt8 | FieldDType::UInt16)
        && matches!(shape, [_, _, 3])
}

/// Fixed-size numeric tensors decode straight into one values buffer (null cells stay zero):
/// in one sequential copy when every cell carries the field's exact NPY header (see
/// [`known_payloads`]), else in parallel through [`CellDecoder::decode_into`].
fn fixed_numeric(
    cells: &Cells,
    decoder: &CellDecoder,
    cell_bytes: usize,
    element: &DataType,
    stop: &AtomicBool,
) -> Result<ArrayRef> {
    let itemsize = element.primitive_width().expect("numeric element");
    let total = cells.len().checked_mul(cell_bytes).ok_or_else(|| too_big(decoder.field))?;
    if let Some(buffer) = decoder.known_header.as_deref().and_then(|h| known_payloads(cells, h, cell_bytes, total)) {
        return primitive(element, total / itemsize, buffer.into());
    }
    let mut buffer = MutableBuffer::from_len_zeroed(total);
    buffer.as_slice_mut().par_chunks_mut(cell_bytes).enumerate().try_for_each(|(i, out)| -> Result<()> {
        if stop.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        match cells.get(i) {
            None => Ok(()),
            Some(cell) => decoder.decode_into(cell, out).map_err(|e| e.context(format_args!("row {i}"))),
        }
    })?;
    primitive(element, total / itemsize, buffer.into())
}

/// One binary-codec field's cell decoder, exactly as the reader's decode stage runs it on each
/// cell (public for benchmarks of the bare decode cost, e.g. `examples/decode_floor.rs`).
/// Fixed-size numeric tensors decode in place into their slot of the column's values buffer
/// ([`decode_into`](Self::decode_into)); other fields decode to a [`Tensor`] ([`decode`](Self::decode)).
/// Errors are `Decode` and name the field.
pub struct CellDecoder<'a> {
    schema: &'a Unischema,
    index: usize,
    field: &'a Field,
    /// The bytes one cell decodes to, for fixed-size numeric tensors.
    fixed_len: Option<usize>,
    /// The exact NPY header `numpy.save` writes for the field: cells that start with it are
    /// copied without parsing it.
    known_header: Option<Vec<u8>>,
    /// How a decoded cell (C order) goes into its slot: a copy, or split into channel planes.
    place: fn(&[u8], &mut [u8]),
    /// Whether cells are images decoded straight into their slot (fixed shape, not planar).
    image_in_place: bool,
}

impl<'a> CellDecoder<'a> {
    /// The decoder of field `index` of `schema` (any field: only binary-codec cells decode).
    pub fn new(schema: &'a Unischema, index: usize) -> Result<CellDecoder<'a>> {
        let field = schema.field(index)?;
        let shape: Option<Vec<usize>> = field.shape.iter().copied().collect();
        let numeric = match field.dtype.array_kind() {
            Some((kind @ (Kind::Int | Kind::UInt | Kind::Float), Some(width))) => Some((kind, width)),
            _ => None,
        };
        let (fixed_len, known_header) = match (shape, numeric) {
            (Some(shape), Some((kind, width))) if shape.iter().product::<usize>() > 0 => {
                let len = byte_len(ArrayDType::native(kind, width), &shape).ok_or_else(|| too_big(field))?;
                let header = matches!(field.codec, Some(Codec::Ndarray))
                    .then(|| npy::header(ArrayDType::native(kind, width), &shape, false));
                (Some(len), header)
            }
            _ => (None, None),
        };
        let image_in_place = fixed_len.is_some() && matches!(field.codec, Some(Codec::CompressedImage { .. }));
        let place = |data: &[u8], out: &mut [u8]| out.copy_from_slice(data);
        Ok(CellDecoder { schema, index, field, fixed_len, known_header, place, image_in_place })
    }

    /// With `planar`, [`decode_into`](Self::decode_into) writes a fixed (H, W, 3) image as its
    /// three channel planes (the caller checked the field is one, see the module doc).
    pub fn planar(mut self, planar: bool) -> Self {
        if planar {
            self.image_in_place = false;
            self.place = match self.field.dtype {
                FieldDType::UInt16 => pixels::to_planar::<2>,
                _ => pixels::to_planar::<1>,
            };
        }
        self
    }

    /// The bytes one cell decodes to when the field's cells decode in place (fixed-size
    /// numeric tensors), else `None`.
    pub fn fixed_len(&self) -> Option<usize> {
        self.fixed_len
    }

    /// Decodes `cell` into `out`, which must hold [`fixed_len`](Self::fixed_len) bytes.
    pub fn decode_into(&self, cell: &[u8], out: &mut [u8]) -> Result<()> {
        if let Some(expect) = self.image_in_place.then(|| self.field.dtype.expect(&self.field.shape)).flatten() {
            return image::decode_into(cell, &expect, out)
                .map_err(|e| e.context(format_args!("field '{}'", self.field.name)));
        }
        if let Some(header) = &self.known_header {
            if cell.len() == header.len() + out.len() && cell.starts_with(header) {
                out.copy_from_slice(&cell[header.len()..]);
                return Ok(());
            }
        }
        let tensor = self.decode(cell)?;
        let view = tensor.view();
        let data = view.c_order_le()?;
        if data.len() != out.len() {
            return Err(Error::decode(format!(
                "field '{}': decoded {} bytes, expected {}",
                self.field.name,
                data.len(),
                out.len()
            )));
        }
        (self.place)(&data, out);
        Ok(())
    }

    /// Decodes `cell` into a C-order, little-endian tensor checked against the field.
    pub fn decode(&self, cell: &[u8]) -> Result<Tensor> {
        decode_cell(self.schema, self.index, cell)
    }
}

/// The payloads of `cells` concatenated, when every cell is `header` then `cell_bytes` bytes
/// (no null): one sequential copy, without first zeroing a `total`-byte buffer. `None` otherwise.
fn known_payloads(cells: &Cells, header: &[u8], cell_bytes: usize, total: usize) -> Option<MutableBuffer> {
    let mut buffer = MutableBuffer::with_capacity(total);
    for i in 0..cells.len() {
        let cell = cells.get(i)?;
        if cell.len() != header.len() + cell_bytes || !cell.starts_with(header) {
            return None;
        }
        buffer.extend_from_slice(&cell[header.len()..]);
    }
    Some(buffer)
}

/// The binary cells of a codec column: `Binary`, `BinaryView` (the reader's, each cell a view
/// into the Parquet page it was stored in, see `item::view_schema`) or `Dictionary(Int32, Binary)`.
struct Cells<'a> {
    stored: Stored<'a>,
    keys: Option<&'a Int32Array>,
}

/// Where the cells' bytes are.
#[derive(Clone, Copy)]
enum Stored<'a> {
    Offsets(&'a BinaryArray),
    Views(&'a BinaryViewArray),
}

impl<'a> Cells<'a> {
    /// The cells of a `Binary`, `BinaryView` or `Dictionary(Int32, Binary)` column; a `Decode`
    /// error when a key points past the dictionary.
    fn of(field: &Field, array: &'a ArrayRef) -> Result<Self> {
        if let Some(views) = array.as_binary_view_opt() {
            return Ok(Cells { stored: Stored::Views(views), keys: None });
        }
        let Some(dictionary) = array.as_dictionary_opt::<Int32Type>() else {
            return Ok(Cells { stored: Stored::Offsets(array.as_binary::<i32>()), keys: None });
        };
        let values = dictionary.values().as_binary::<i32>();
        let keys = dictionary.keys();
        if let Some(bad) = keys.iter().flatten().find(|k| usize::try_from(*k).map_or(true, |k| k >= values.len())) {
            return Err(Error::decode(format!(
                "field '{}': dictionary key {bad} out of range ({} values)",
                field.name,
                values.len()
            )));
        }
        Ok(Cells { stored: Stored::Offsets(values), keys: Some(keys) })
    }

    fn len(&self) -> usize {
        match (self.keys, self.stored) {
            (Some(keys), _) => keys.len(),
            (None, Stored::Offsets(values)) => values.len(),
            (None, Stored::Views(views)) => views.len(),
        }
    }

    fn nulls(&self) -> Option<&'a NullBuffer> {
        match (self.keys, self.stored) {
            (Some(keys), _) => keys.nulls(),
            (None, Stored::Offsets(values)) => values.nulls(),
            (None, Stored::Views(views)) => views.nulls(),
        }
    }

    /// Row `i`'s cell; `None` when it is null.
    fn get(&self, i: usize) -> Option<&'a [u8]> {
        let i = match self.keys {
            Some(keys) => keys.is_valid(i).then(|| keys.value(i) as usize)?,
            None => i,
        };
        match self.stored {
            Stored::Offsets(values) => (self.keys.is_some() || values.is_valid(i)).then(|| values.value(i)),
            Stored::Views(views) => views.is_valid(i).then(|| views.value(i)),
        }
    }
}

/// The variable-shape tensor storage layout.
fn variable_shape(
    field: &Field,
    element: &DataType,
    item: FieldRef,
    tensors: &[Option<Tensor>],
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    let ndim = field.shape.len();
    let elements = tensors.iter().flatten().map(|t| t.shape.iter().product::<usize>()).sum();
    let mut values = Values::new(field.dtype, elements);
    let mut lengths = Vec::with_capacity(tensors.len());
    let mut dims = Vec::with_capacity(tensors.len() * ndim);
    for t in tensors {
        match t {
            Some(t) => {
                values.push(Some(t), t.shape.iter().product())?;
                lengths.push(t.shape.iter().product());
                for d in &t.shape {
                    dims.push(i32::try_from(*d).map_err(|_| too_big(field))?);
                }
            }
            None => {
                lengths.push(0);
                dims.extend(std::iter::repeat_n(0, ndim));
            }
        }
    }
    let data = ListArray::try_new(item, OffsetBuffer::from_lengths(lengths), values.finish(element)?, None)
        .map_err(|e| arrow_error(field, e))?;
    let dim_item = Arc::new(ArrowField::new("item", DataType::Int32, true));
    let ndim_i32 = i32::try_from(ndim).map_err(|_| too_big(field))?;
    let shape = FixedSizeListArray::try_new(dim_item, ndim_i32, Arc::new(Int32Array::from(dims)), None)
        .map_err(|e| arrow_error(field, e))?;
    let fields = vec![
        Arc::new(ArrowField::new("data", data.data_type().clone(), true)),
        Arc::new(ArrowField::new("shape", shape.data_type().clone(), true)),
    ];
    let array = StructArray::try_new(fields.into(), vec![Arc::new(data), Arc::new(shape)], nulls)
        .map_err(|e| arrow_error(field, e))?;
    Ok(Arc::new(array))
}

/// Tensor elements gathered into one Arrow values array.
enum Values {
    Fixed(MutableBuffer, usize),
    Bool(Vec<bool>),
    Str(StringBuilder),
    Bytes(BinaryBuilder),
}

impl Values {
    /// Empty values of `dtype`, with room for `elements` fixed-width elements.
    fn new(dtype: FieldDType, elements: usize) -> Values {
        match dtype {
            FieldDType::Bool => Values::Bool(Vec::new()),
            FieldDType::Str => Values::Str(StringBuilder::new()),
            FieldDType::Bytes => Values::Bytes(BinaryBuilder::new()),
            other => {
                let width = arrow_type(other).and_then(|t| t.primitive_width()).unwrap_or(1);
                Values::Fixed(MutableBuffer::new(elements.saturating_mul(width)), width)
            }
        }
    }

    /// Appends a tensor's elements, or `count` zero/empty elements for a null cell.
    fn push(&mut self, tensor: Option<&Tensor>, count: usize) -> Result<()> {
        let Some(t) = tensor else {
            match self {
                Values::Fixed(buf, width) => buf.extend_zeros(count * *width),
                Values::Bool(v) => v.extend(std::iter::repeat_n(false, count)),
                Values::Str(b) => (0..count).for_each(|_| b.append_value("")),
                Values::Bytes(b) => (0..count).for_each(|_| b.append_value(b"")),
            }
            return Ok(());
        };
        let view = t.view();
        let data = view.c_order_le()?;
        let itemsize = t.dtype.itemsize;
        match self {
            Values::Fixed(buf, _) => buf.extend_from_slice(&data),
            Values::Bool(v) => v.extend(data.iter().map(|b| *b != 0)),
            Values::Str(b) => {
                for chunk in chunks(&data, itemsize, count) {
                    b.append_value(ucs4_to_string(chunk));
                }
            }
            Values::Bytes(b) => {
                for chunk in chunks(&data, itemsize, count) {
                    let end = chunk.iter().rposition(|c| *c != 0).map_or(0, |p| p + 1);
                    b.append_value(&chunk[..end]);
                }
            }
        }
        Ok(())
    }

    fn finish(self, element: &DataType) -> Result<ArrayRef> {
        Ok(match self {
            Values::Fixed(buf, width) => {
                let len = buf.len() / width.max(1);
                return primitive(element, len, buf.into());
            }
            Values::Bool(v) => Arc::new(BooleanArray::from(v)),
            Values::Str(mut b) => Arc::new(b.finish()),
            Values::Bytes(mut b) => Arc::new(b.finish()),
        })
    }
}

/// `count` elements of `itemsize` bytes (zero-width strings give empty elements).
fn chunks(data: &[u8], itemsize: usize, count: usize) -> impl Iterator<Item = &[u8]> {
    (0..count).map(move |i| data.get(i * itemsize..(i + 1) * itemsize).unwrap_or(&[]))
}

/// A UCS-4 (little-endian) element as UTF-8, trailing NULs trimmed as NumPy does.
fn ucs4_to_string(chunk: &[u8]) -> String {
    let mut s: String = chunk
        .chunks_exact(4)
        .map(|c| {
            char::from_u32(u32::from_le_bytes(c.try_into().expect("4 bytes"))).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    let trimmed = s.trim_end_matches('\0').len();
    s.truncate(trimmed);
    s
}

/// A primitive array of `len` values of type `element` over little-endian `buffer`.
fn primitive(element: &DataType, len: usize, buffer: Buffer) -> Result<ArrayRef> {
    let data = ArrayData::builder(element.clone())
        .len(len)
        .add_buffer(buffer)
        .build()
        .map_err(|e| Error::internal(format!("building a {element} array: {e}")))?;
    Ok(make_array(data))
}

fn too_big(field: &Field) -> Error {
    Error::decode(format!("field '{}': tensor too large for an Arrow column", field.name))
}

fn arrow_error(field: &Field, e: arrow::error::ArrowError) -> Error {
    Error::internal(format!("field '{}': building the decoded column: {e}", field.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucs4_trims_trailing_nuls() {
        let mut bytes = Vec::new();
        for c in "héllo\0\0".chars() {
            bytes.extend_from_slice(&(c as u32).to_le_bytes());
        }
        assert_eq!(ucs4_to_string(&bytes), "héllo");
    }
}
