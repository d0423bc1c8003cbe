//! NGram windows (upstream's `petastorm.ngram.NGram`; `docs/ffi.md`, "NGram"): runs of `length`
//! consecutive rows of one batch (a row group, or a part of one, after predicates and filters), in
//! timestamp order, whose consecutive timestamps differ by at most `delta_threshold`. Windows never
//! span two batches. The reader returns the batch's rows in timestamp order plus a column of the
//! window starts; the bindings assemble the windows from it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use serde::Deserialize;

use super::decode::Column;
use super::plan::{shuffle, SplitMix64};
use crate::error::{Error, Result};
use crate::schema::{Field as SchemaField, FieldDType};

/// The batch column (last) holding the first row of each window, in output order; its entries past
/// the last window are null. A window starting at row `s` holds rows `s .. s + length`.
pub const STARTS_COLUMN: &str = "__petastorm_ngram_starts";

/// The reader option `"ngram"`: what the windows are made of.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NGramOptions {
    /// The field whose values order the rows and bound the gaps (read as an output field).
    pub timestamp_field: String,
    /// Rows per window: the largest offset minus the smallest, plus one.
    pub length: usize,
    /// The largest allowed difference between the timestamps of neighbouring rows (inclusive).
    pub delta_threshold: f64,
    /// `false`: a window starts only after the last timestamp of the previous window taken.
    #[serde(default = "yes")]
    pub timestamp_overlap: bool,
}

fn yes() -> bool {
    true
}

/// The windows of one batch.
#[derive(Debug, PartialEq)]
pub struct Windows {
    /// The rows in timestamp order (stable); `None` when they already are.
    pub order: Option<Vec<u32>>,
    /// Window starts: positions in that order, ascending.
    pub starts: Vec<u32>,
}

impl NGramOptions {
    /// Checks the options against the reader's `shuffle_row_drop_partitions` (`Value` errors).
    pub fn check(&self, row_drop_partitions: u64) -> Result<()> {
        if self.length == 0 {
            return Err(Error::value("ngram length must be at least 1"));
        }
        if self.delta_threshold.is_nan() {
            return Err(Error::value("ngram delta_threshold must be a number, got NaN"));
        }
        if !self.timestamp_overlap && row_drop_partitions > 1 {
            return Err(Error::value(
                "ngram timestamp_overlap=False is not supported with shuffle_row_drop_partitions > 1",
            ));
        }
        Ok(())
    }

    /// Checks the timestamp field of the schema: read (`in_output`), a scalar and not a string,
    /// bytes or bool field (`Value` / `Type` errors).
    pub fn check_field(&self, field: &SchemaField, in_output: bool) -> Result<()> {
        let name = &field.name;
        if !in_output {
            return Err(Error::value(format!("ngram timestamp field '{name}' must be one of schema_fields")));
        }
        if !field.shape.is_empty() || matches!(field.dtype, FieldDType::Str | FieldDType::Bytes | FieldDType::Bool) {
            return Err(Error::type_error(format!(
                "ngram timestamp field '{name}' must hold numbers, dates or timestamps, not {} values of shape {:?}",
                field.dtype.name(),
                field.shape
            )));
        }
        Ok(())
    }

    /// Rows a part of a row group reads past its own end, so that windows starting near the end of
    /// one part are kept (upstream adds the next part's first `length - 1` rows).
    pub fn part_overlap(&self) -> usize {
        self.length - 1
    }

    /// The windows over a timestamp column (integers, floats, decimals, dates, times, timestamps or
    /// durations; no nulls or NaNs).
    pub fn windows(&self, timestamps: &dyn Array) -> Result<Windows> {
        let name = &self.timestamp_field;
        if let Some(row) = (0..timestamps.len()).find(|&i| timestamps.is_null(i)) {
            return Err(Error::decode(format!("ngram timestamp field '{name}': row {row} is null")));
        }
        let (order, starts) = match stamps(name, timestamps)? {
            Stamps::Int(values) => self.windows_of(&values),
            Stamps::Float(values) => {
                if let Some(row) = values.iter().position(|v| v.is_nan()) {
                    return Err(Error::decode(format!("ngram timestamp field '{name}': row {row} is NaN")));
                }
                self.windows_of(&values)
            }
        };
        Ok(Windows { order, starts })
    }

    fn windows_of<T: Stamp>(&self, values: &[T]) -> (Option<Vec<u32>>, Vec<u32>) {
        if values.windows(2).all(|w| w[0] <= w[1]) {
            return (None, window_starts(values, self.length, self.delta_threshold, self.timestamp_overlap));
        }
        let mut order: Vec<u32> = (0..values.len() as u32).collect();
        order.sort_by(|&a, &b| values[a as usize].partial_cmp(&values[b as usize]).expect("no NaN"));
        let sorted: Vec<T> = order.iter().map(|&i| values[i as usize]).collect();
        (Some(order), window_starts(&sorted, self.length, self.delta_threshold, self.timestamp_overlap))
    }

    /// The reader's batch of decoded `columns` (`rows` rows): the rows in timestamp order, then
    /// [`STARTS_COLUMN`]; the starts shuffled with `shuffle_seed` when given (`shuffle_rows`: the
    /// windows' order changes, never the rows inside one). `None` when the batch holds no window.
    pub fn batch(&self, columns: Vec<Column>, rows: usize, shuffle_seed: Option<u64>) -> Result<Option<RecordBatch>> {
        let name = &self.timestamp_field;
        let timestamps = columns
            .iter()
            .find(|c| c.field.name() == name)
            .ok_or_else(|| Error::value(format!("ngram timestamp field '{name}' is not among the fields read")))?;
        let Windows { order, mut starts } = self.windows(timestamps.array.as_ref())?;
        if starts.is_empty() {
            return Ok(None);
        }
        if let Some(seed) = shuffle_seed {
            shuffle(&mut starts, &mut SplitMix64::new(seed));
        }
        let mut arrays: Vec<ArrayRef> = match order {
            None => columns.iter().map(|c| Arc::clone(&c.array)).collect(),
            Some(order) => {
                let indices = UInt32Array::from(order);
                columns
                    .iter()
                    .map(|c| take(c.array.as_ref(), &indices, None))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| Error::internal(format!("ordering rows by '{name}': {e}")))?
            }
        };
        let mut start_cells: Vec<Option<u32>> = starts.into_iter().map(Some).collect();
        start_cells.resize(rows, None);
        arrays.push(Arc::new(UInt32Array::from(start_cells)));
        let mut fields: Vec<_> = columns.into_iter().map(|c| c.field).collect();
        fields.push(Arc::new(Field::new(STARTS_COLUMN, DataType::UInt32, true)));
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
            .map(Some)
            .map_err(|e| Error::internal(format!("assembling the ngram batch: {e}")))
    }
}

/// A timestamp value: ordered, with a difference comparable to the threshold.
trait Stamp: Copy + PartialOrd {
    /// `self - earlier` as a float (exact for the gaps of 64-bit integers up to 2^53).
    fn gap(self, earlier: Self) -> f64;
}

impl Stamp for i64 {
    fn gap(self, earlier: Self) -> f64 {
        (i128::from(self) - i128::from(earlier)) as f64
    }
}

impl Stamp for f64 {
    fn gap(self, earlier: Self) -> f64 {
        self - earlier
    }
}

enum Stamps {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

/// The column's values as integers (integer and temporal types) or floats (floats, decimals).
fn stamps(name: &str, array: &dyn Array) -> Result<Stamps> {
    use DataType::*;
    let as_type = |target: &DataType| {
        cast(array, target).map_err(|e| Error::type_error(format!("ngram timestamp field '{name}': {e}")))
    };
    match array.data_type() {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Date32 | Date64 | Time32(_) | Time64(_)
        | Timestamp(..) | Duration(_) => {
            let cast = as_type(&Int64)?;
            let values = cast.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
            if let Some(row) = (0..values.len()).find(|&i| values.is_null(i)) {
                return Err(Error::decode(format!("ngram timestamp field '{name}': row {row} is out of range")));
            }
            Ok(Stamps::Int(values.values().to_vec()))
        }
        Float16 | Float32 | Float64 | Decimal128(..) | Decimal256(..) => {
            let cast = as_type(&Float64)?;
            Ok(Stamps::Float(cast.as_any().downcast_ref::<Float64Array>().expect("cast to Float64").values().to_vec()))
        }
        other => Err(Error::type_error(format!(
            "ngram timestamp field '{name}' must hold numbers, dates or timestamps, not {other}"
        ))),
    }
}

/// Upstream's rule over sorted timestamps: each run `i .. i + length` whose neighbouring gaps are
/// all `<= delta`; without overlap, a run is also skipped when its first timestamp is not after
/// the last timestamp of the run taken before it.
fn window_starts<T: Stamp>(ts: &[T], length: usize, delta: f64, overlap: bool) -> Vec<u32> {
    if length == 0 || ts.len() < length {
        return Vec::new();
    }
    // wide[j]: how many gaps among rows 0..=j exceed delta
    let mut wide = Vec::with_capacity(ts.len());
    let mut count = 0u32;
    wide.push(0);
    for j in 1..ts.len() {
        count += u32::from(ts[j].gap(ts[j - 1]) > delta);
        wide.push(count);
    }
    let mut starts = Vec::new();
    let mut last_end: Option<T> = None;
    for i in 0..=ts.len() - length {
        let end = i + length - 1;
        if wide[end] != wide[i] {
            continue;
        }
        if !overlap {
            if last_end.is_some_and(|e| ts[i] <= e) {
                continue;
            }
            last_end = Some(ts[end]);
        }
        starts.push(i as u32);
    }
    starts
}

#[cfg(test)]
mod tests {
    use arrow::array::{Date32Array, Float32Array, Int32Array, StringArray, TimestampMicrosecondArray};

    use super::*;

    fn options(length: usize, delta: f64, overlap: bool) -> NGramOptions {
        NGramOptions { timestamp_field: "ts".into(), length, delta_threshold: delta, timestamp_overlap: overlap }
    }

    fn starts(ts: &[i64], length: usize, delta: f64, overlap: bool) -> Vec<u32> {
        let w = options(length, delta, overlap).windows(&Int64Array::from(ts.to_vec())).unwrap();
        assert_eq!(w.order, None);
        w.starts
    }

    /// Upstream's loop, written independently as the reference: every candidate window, the
    /// overlap test first, then the gaps.
    fn reference(ts: &[i64], length: usize, delta: f64, overlap: bool) -> Vec<u32> {
        let mut out = Vec::new();
        let mut prev_end = None;
        for i in 0..(ts.len() + 1).saturating_sub(length) {
            let w = &ts[i..i + length];
            if !overlap && prev_end.is_some_and(|e| w[0] <= e) {
                continue;
            }
            if w.windows(2).all(|p| (p[1] - p[0]) as f64 <= delta) {
                out.push(i as u32);
                if !overlap {
                    prev_end = Some(w[length - 1]);
                }
            }
        }
        out
    }

    #[test]
    fn upstream_docstring_example() {
        // ids 0 3 8 10 11 20 30, length 2, delta 4: (A,B) (C,D) (D,E)
        assert_eq!(starts(&[0, 3, 8, 10, 11, 20, 30], 2, 4.0, true), vec![0, 2, 3]);
        // delta 5 over 0 10 20 30: nothing
        assert!(starts(&[0, 10, 20, 30], 2, 5.0, true).is_empty());
    }

    #[test]
    fn threshold_is_inclusive() {
        assert_eq!(starts(&[0, 2, 4, 7], 2, 2.0, true), vec![0, 1]);
        assert_eq!(starts(&[0, 2, 4, 7], 3, 2.0, true), vec![0]);
        assert_eq!(starts(&[0, 2, 4, 7], 3, 3.0, true), vec![0, 1]);
        assert_eq!(starts(&[0, 1, 2], 2, 0.5, true), Vec::<u32>::new());
    }

    #[test]
    fn without_overlap_windows_share_no_timestamp() {
        // upstream's docstring: 0..=5, length 3 -> [0,1,2] and [3,4,5]
        assert_eq!(starts(&[0, 1, 2, 3, 4, 5], 3, 1.0, false), vec![0, 3]);
        assert_eq!(starts(&[0, 1, 2, 3, 4, 5], 3, 1.0, true), vec![0, 1, 2, 3]);
        // a rejected window does not block the next one
        assert_eq!(starts(&[0, 1, 9, 10, 11, 12], 2, 1.0, false), vec![0, 2, 4]);
        // equal timestamps: the next window must start after the previous end
        assert_eq!(starts(&[1, 1, 1, 2, 2], 2, 1.0, false), vec![0, 3]);
        assert_eq!(starts(&[5, 5, 5], 1, 0.0, false), vec![0]);
    }

    #[test]
    fn matches_the_reference_on_many_sequences() {
        let mut rng = SplitMix64::new(7);
        for case in 0..400 {
            let n = rng.below(30) as usize;
            let mut t = 0i64;
            let ts: Vec<i64> = (0..n)
                .map(|_| {
                    t += rng.below(5) as i64;
                    t
                })
                .collect();
            let length = 1 + (case % 4);
            for delta in [0.0, 1.0, 1.5, 3.0] {
                for overlap in [true, false] {
                    assert_eq!(starts(&ts, length, delta, overlap), reference(&ts, length, delta, overlap), "{ts:?}");
                }
            }
        }
    }

    #[test]
    fn unsorted_rows_are_ordered_by_timestamp_stably() {
        let w = options(2, 1.0, true).windows(&Int32Array::from(vec![3, 1, 2, 1, 9])).unwrap();
        assert_eq!(w.order, Some(vec![1, 3, 2, 0, 4]));
        // sorted: 1 1 2 3 9
        assert_eq!(w.starts, vec![0, 1, 2]);
    }

    #[test]
    fn empty_and_short_batches_have_no_window() {
        assert!(starts(&[], 1, 1.0, true).is_empty());
        assert!(starts(&[1, 2], 3, 10.0, true).is_empty());
        assert_eq!(starts(&[1, 2, 3], 3, 10.0, true), vec![0]);
    }

    #[test]
    fn float_decimal_and_temporal_timestamps() {
        let w = options(2, 0.5, true).windows(&Float32Array::from(vec![0.0, 0.5, 1.25, 1.5])).unwrap();
        assert_eq!(w.starts, vec![0, 2]);
        let days = Date32Array::from(vec![0, 1, 3, 4]);
        assert_eq!(options(2, 1.0, true).windows(&days).unwrap().starts, vec![0, 2]);
        let micros = TimestampMicrosecondArray::from(vec![0, 1_000_000, 1_500_000]);
        assert_eq!(options(2, 500_000.0, true).windows(&micros).unwrap().starts, vec![1]);
    }

    #[test]
    fn nulls_nans_and_strings_are_errors_naming_the_field() {
        let err = options(2, 1.0, true).windows(&Int64Array::from(vec![Some(1), None])).unwrap_err();
        assert!(err.to_string().contains("ngram timestamp field 'ts': row 1 is null"), "{err}");
        let err = options(2, 1.0, true).windows(&Float64Array::from(vec![1.0, f64::NAN])).unwrap_err();
        assert!(err.to_string().contains("row 1 is NaN"), "{err}");
        let err = options(2, 1.0, true).windows(&StringArray::from(vec!["a"])).unwrap_err();
        assert!(err.to_string().contains("must hold numbers, dates or timestamps"), "{err}");
    }

    #[test]
    fn the_timestamp_field_is_a_scalar_number_read_by_the_reader() {
        let field = |dtype, shape: Vec<Option<usize>>| SchemaField {
            name: "ts".into(),
            dtype,
            shape,
            nullable: false,
            codec: None,
        };
        let ngram = options(2, 1.0, true);
        assert!(ngram.check_field(&field(FieldDType::Int64, vec![]), true).is_ok());
        assert!(ngram.check_field(&field(FieldDType::Float32, vec![]), true).is_ok());
        let err = ngram.check_field(&field(FieldDType::Int64, vec![]), false).unwrap_err();
        assert!(err.to_string().contains("'ts' must be one of schema_fields"), "{err}");
        for (dtype, shape) in
            [(FieldDType::Str, vec![]), (FieldDType::Bool, vec![]), (FieldDType::Int64, vec![Some(2)])]
        {
            let err = ngram.check_field(&field(dtype, shape), true).unwrap_err();
            assert!(err.to_string().contains("must hold numbers, dates or timestamps"), "{err}");
        }
    }

    #[test]
    fn checks_the_options() {
        assert!(options(0, 1.0, true).check(1).is_err());
        assert!(options(2, f64::NAN, true).check(1).is_err());
        assert!(options(2, 1.0, false).check(2).is_err());
        assert!(options(2, 1.0, true).check(2).is_ok());
        assert_eq!(options(3, 1.0, true).part_overlap(), 2);
    }

    #[test]
    fn batch_orders_rows_and_pads_the_starts() {
        let ts: ArrayRef = Arc::new(Int64Array::from(vec![30, 10, 20, 11]));
        let other: ArrayRef = Arc::new(Int32Array::from(vec![3, 1, 2, 4]));
        let column = |name: &str, array: &ArrayRef| Column {
            field: Arc::new(Field::new(name, array.data_type().clone(), true)),
            array: Arc::clone(array),
        };
        let batch =
            options(2, 9.0, true).batch(vec![column("ts", &ts), column("x", &other)], 4, None).unwrap().unwrap();
        let ints = |i: usize| batch.column(i).as_any().downcast_ref::<Int64Array>().map(|a| a.values().to_vec());
        assert_eq!(ints(0), Some(vec![10, 11, 20, 30]));
        let x = batch.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(x.values().to_vec(), vec![1, 4, 2, 3]);
        let s = batch.column(2).as_any().downcast_ref::<UInt32Array>().unwrap();
        assert_eq!(batch.schema().field(2).name(), STARTS_COLUMN);
        // 10-11 and 11-20 pass (gap <= 9), 20-30 does not
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Some(0), Some(1), None, None]);

        let shuffled = options(1, 0.0, true).batch(vec![column("ts", &ts)], 4, Some(3)).unwrap().unwrap();
        let s = shuffled.column(1).as_any().downcast_ref::<UInt32Array>().unwrap();
        let mut got: Vec<u32> = s.iter().flatten().collect();
        assert_ne!(got, vec![0, 1, 2, 3], "seed 3 permutes the windows");
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2, 3]);

        let none = options(2, 0.0, true).batch(vec![column("ts", &ts)], 4, None).unwrap();
        assert!(none.is_none(), "no window: no batch");
        let missing = options(2, 0.0, true).batch(vec![column("x", &other)], 4, None).unwrap_err();
        assert!(missing.to_string().contains("is not among the fields read"), "{missing}");
    }
}
