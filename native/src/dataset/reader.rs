//! The reader engine behind `make_reader` / `make_batch_reader`: opens the dataset, selects
//! fields, prunes and plans row groups, and runs the decode pipeline.

use std::collections::BTreeSet;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use arrow::record_batch::RecordBatch;

use super::damage::Skips;
use super::discovery::{DataFile, Dataset, SchemaSource};
use super::item::ReadSpec;
use super::options::ReaderOptions;
use super::pipeline::{Job, Pipeline};
use super::plan::{select_pieces, Plan, PlanSettings, RowGroup};
use super::values::{Cell, Value};
use super::view;
use crate::error::{Error, Result};
use crate::schema::{FieldDType, Unischema};

/// An open dataset read: [`Reader::open`], then [`Reader::batches`] (or [`Reader::next`]).
pub struct Reader {
    /// Leaked instead of dropped in a process forked after reading started.
    pipeline: ManuallyDrop<Pipeline>,
    view: Unischema,
    batch_schema: Unischema,
    dataset: Arc<Dataset>,
    plan: Arc<Plan>,
    rows: OnceLock<u64>,
    /// The process that opened (or first used) the reader; used to detect `fork()`.
    pid: AtomicU32,
    started: AtomicBool,
    skips: Arc<Skips>,
}

impl Reader {
    /// Opens the dataset and plans the read; decoding starts with the first `next()`.
    pub fn open(options: &ReaderOptions) -> Result<Reader> {
        let dataset = Arc::new(Dataset::open_cached(
            &options.dataset_url.list(),
            &options.storage_options(),
            options.cache()?.as_ref(),
        )?);
        let schema = &dataset.schema;
        let (view, mut output) = view::select(schema, &options.schema_field_names, options.schema_fields.as_deref())?;
        if let Some(p) = &options.predicate {
            p.check()?;
        }
        let native_fields: BTreeSet<String> = options.predicate.as_ref().map(|p| p.fields()).unwrap_or_default();
        let caller_fields = options.predicate_fields.as_deref().unwrap_or_default();
        check_predicate_fields(schema, native_fields.iter().chain(caller_fields))?;
        if let Some(ngram) = &options.ngram {
            let index = index_of(schema, &ngram.timestamp_field).map_err(|e| e.context("ngram"))?;
            ngram.check_field(&schema.fields()[index], output.contains(&index))?;
        }
        // The caller's predicate fields travel in the batches, after the view's, in schema order.
        let mut carried: Vec<usize> = caller_fields
            .iter()
            .filter_map(|name| view::position(schema, name))
            .filter(|i| !output.contains(i))
            .collect();
        carried.sort_unstable();
        carried.dedup();
        output.extend(carried);
        let mut read_fields = native_fields;
        read_fields.extend(options.filters.as_ref().map(|f| f.columns()).unwrap_or_default());
        let mut extra = Vec::new();
        for name in &read_fields {
            let index = index_of(schema, name).map_err(|e| e.context("filters"))?;
            if !output.contains(&index) {
                extra.push(index);
            }
        }
        let batch_fields = output.iter().map(|&i| schema.fields()[i].clone()).collect();
        let batch_schema = Unischema::new(view.name(), batch_fields)?;

        let skips = Arc::new(Skips::new(options.skip_unreadable_row_groups));
        skips.missing(&dataset.missing)?;
        let kept: Vec<usize> =
            (0..dataset.files.len()).filter(|&i| may_hold_rows(&dataset, options, &dataset.files[i])).collect();
        let (hinted, unhinted): (Vec<usize>, Vec<usize>) =
            kept.into_iter().partition(|&i| dataset.row_groups_hint.contains_key(&dataset.files[i].rel));
        let mut kept = skips.load_footers(&dataset, &unhinted)?;
        kept.extend(hinted);
        kept.sort_unstable();
        let mut row_groups = Vec::new();
        for &file in &kept {
            row_groups.extend((0..dataset.row_group_count(file)?).map(|row_group| RowGroup { file, row_group }));
        }
        if let Some(selected) = &options.row_groups {
            row_groups = select_pieces(row_groups, &dataset.row_group_counts()?, selected)?;
        }
        let settings = PlanSettings {
            shard: options.cur_shard.zip(options.shard_count),
            shard_seed: options.shard_seed,
            row_drop_partitions: options.shuffle_row_drop_partitions,
            shuffle: options.shuffle_row_groups,
            seed: options.seed,
            num_epochs: options.num_epochs,
        };
        let plan = Arc::new(Plan::new(row_groups, settings)?);
        log_opened(options, &dataset, kept.len(), &plan);

        let spec = ReadSpec {
            dataset: Arc::clone(&dataset),
            output,
            extra,
            predicate: options.predicate.clone(),
            filters: options.filters.clone(),
            batch_mode: options.batch_mode,
            planar_images: options.planar_images,
            shuffle_rows: options.shuffle_rows,
            ngram: options.ngram.clone(),
            verify_page_checksums: options.verify_page_checksums,
            decode_memory_limit: options.decode_memory_limit,
            skips: Arc::clone(&skips),
        };
        let job: Job = Arc::new(move |item, seed, stop| spec.read(item, seed, stop));
        let budget = usize::try_from(options.results_queue_bytes).unwrap_or(usize::MAX);
        let pipeline = Pipeline::new(Arc::clone(&plan), job, options.workers(), options.results_queue_size, budget);
        Ok(Reader {
            pipeline: ManuallyDrop::new(pipeline),
            view,
            batch_schema,
            dataset,
            plan,
            rows: OnceLock::new(),
            pid: AtomicU32::new(std::process::id()),
            started: AtomicBool::new(false),
            skips,
        })
    }

    /// The schema view: the fields the reader returns (see [`view::select`]).
    pub fn schema(&self) -> &Unischema {
        &self.view
    }

    /// The columns of each batch: the view's fields, then the `predicate_fields` it lacks.
    pub fn batch_schema(&self) -> &Unischema {
        &self.batch_schema
    }

    /// The next batch in plan order; `None` at the end (or after `stop()`).
    pub fn next(&self) -> Result<Option<RecordBatch>> {
        self.check_process()?;
        self.started.store(true, Ordering::Relaxed);
        self.pipeline.next()
    }

    /// The batches of [`Reader::next`] as an iterator (ends at the end of the last epoch).
    pub fn batches(&self) -> Batches<'_> {
        Batches(self)
    }

    pub fn stop(&self) -> Result<()> {
        self.check_process()?;
        self.pipeline.stop();
        Ok(())
    }

    pub fn reset(&self) -> Result<()> {
        self.check_process()?;
        self.pipeline.reset();
        Ok(())
    }

    /// The most decoded batches held at once so far (bounded by `results_queue_size`).
    pub fn max_buffered(&self) -> usize {
        self.pipeline.max_ready()
    }

    /// The most bytes of decoded batches held at once so far (`results_queue_bytes` plus at
    /// most the batches of the items running when it was reached).
    pub fn max_buffered_bytes(&self) -> usize {
        self.pipeline.max_ready_bytes()
    }

    /// `{"row_groups", "items", "files", "rows", "num_epochs", "schema_source"}` of one epoch of
    /// this reader's plan (rows before predicates and filters; `null` when a footer cannot be
    /// read), what was skipped so far (`skipped_row_groups`, `skipped_files`; see
    /// `skip_unreadable_row_groups`), and `{"io_requests", "io_bytes"}`: the read requests made
    /// and bytes fetched so far (footers and metadata included).
    pub fn info_json(&self) -> Result<String> {
        let mut seen = std::collections::HashSet::new();
        let files: Vec<usize> = self.plan.row_groups.iter().map(|g| g.file).filter(|f| seen.insert(*f)).collect();
        // `null` when a footer cannot be read (the read reports it, or skips it).
        let rows = match self.rows.get() {
            Some(rows) => Some(*rows),
            None => self.count_rows(&files).ok().map(|rows| *self.rows.get_or_init(|| rows)),
        };
        let names: Vec<&str> = files.iter().map(|&f| self.dataset.files[f].rel.as_str()).collect();
        let (io_requests, io_bytes) = self.dataset.io.snapshot();
        let (cache_hits, cache_misses) = self.dataset.io.cache_snapshot();
        let (skipped_row_groups, skipped_files) = self.skips.counts();
        Ok(serde_json::json!({
            "io_requests": io_requests,
            "io_bytes": io_bytes,
            "cache_hits": cache_hits,
            "cache_misses": cache_misses,
            "row_groups": self.plan.row_groups.len(),
            "items": self.plan.items.len(),
            "files": names,
            "rows": rows,
            "num_epochs": self.plan.num_epochs,
            "schema_source": match self.dataset.schema_source {
                SchemaSource::Metadata => "metadata",
                SchemaSource::Inferred => "inferred",
            },
            "skipped_row_groups": skipped_row_groups,
            "skipped_files": skipped_files,
        })
        .to_string())
    }

    /// The rows of one epoch's row groups (from the footers of `files`).
    fn count_rows(&self, files: &[usize]) -> Result<u64> {
        self.dataset.load_footers(files)?;
        let mut rows = 0u64;
        for g in &self.plan.row_groups {
            rows += self.dataset.files[g.file].footer()?.metadata().row_group(g.row_group).num_rows() as u64;
        }
        Ok(rows)
    }

    /// A reader lives in the process that started reading; a child forked before the first
    /// `next()` adopts it, one forked later gets an error (never a hang).
    fn check_process(&self) -> Result<()> {
        let pid = std::process::id();
        let owner = self.pid.load(Ordering::Relaxed);
        if owner == pid {
            return Ok(());
        }
        if self.started.load(Ordering::Relaxed) {
            return Err(Error::value(format!(
                "this reader was started in process {owner} and cannot be used after fork(): \
                 open a new reader in process {pid}"
            )));
        }
        self.pid.store(pid, Ordering::Relaxed);
        Ok(())
    }
}

/// The iterator of [`Reader::batches`].
pub struct Batches<'a>(&'a Reader);

impl Iterator for Batches<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().transpose()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // In a child forked after reading started, the parent's threads and locks are gone:
        // leak the pipeline rather than wait on them.
        if self.check_process().is_ok() {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.pipeline) };
        }
    }
}

/// What a user wants to know about an opened reader: info for the dataset and the plan, debug
/// for the options.
fn log_opened(options: &ReaderOptions, dataset: &Dataset, kept_files: usize, plan: &Plan) {
    let source = match dataset.schema_source {
        SchemaSource::Metadata => "stored metadata",
        SchemaSource::Inferred => "inferred from Parquet",
    };
    log::info!(
        "opened {}: {} of {} files after partition pruning, {} row groups planned ({} items per epoch), schema '{}' ({})",
        options.dataset_url.list().join(", "),
        kept_files,
        dataset.files.len(),
        plan.row_groups.len(),
        plan.items.len(),
        dataset.schema.name(),
        source
    );
    log::debug!(
        "reader options: schema_fields {:?} {:?}, batch_mode {}, workers {}, results_queue_size {} ({} bytes), \
         shuffle_row_groups {}, shuffle_rows {}, seed {:?}, num_epochs {:?}, shard {:?} of {:?}, \
         shuffle_row_drop_partitions {}, predicate {}, filters {}",
        options.schema_field_names,
        options.schema_fields,
        options.batch_mode,
        options.workers(),
        options.results_queue_size,
        options.results_queue_bytes,
        options.shuffle_row_groups,
        options.shuffle_rows,
        options.seed,
        options.num_epochs,
        options.cur_shard,
        options.shard_count,
        options.shuffle_row_drop_partitions,
        if options.predicate.is_some() { "set" } else { "none" },
        if options.filters.is_some() { "set" } else { "none" },
    );
}

/// Upstream's error for predicate fields the schema lacks.
fn check_predicate_fields<'a>(schema: &Unischema, names: impl Iterator<Item = &'a String>) -> Result<()> {
    let unknown: BTreeSet<&str> =
        names.map(String::as_str).filter(|name| view::position(schema, name).is_none()).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::value(format!(
        "At least some column names requested by the predicate ({}) are not valid schema names: ({})",
        unknown.into_iter().collect::<Vec<_>>().join(", "),
        view::field_names(schema)
    )))
}

fn index_of(schema: &Unischema, name: &str) -> Result<usize> {
    schema
        .fields()
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| Error::value(format!("field '{name}' is not in schema {}", schema.name())))
}

/// False when the file's partition values rule out every row (predicate on partition keys
/// only, or a filter conjunction whose partition terms fail).
fn may_hold_rows(dataset: &Dataset, options: &ReaderOptions, file: &DataFile) -> bool {
    let known = |name: &str| -> Option<Cell> {
        let value = file.partition(name)?;
        let dtype = dataset.schema.field_by_name(name).map_or(FieldDType::Str, |f| f.dtype);
        Some(Cell::Scalar(partition_value(value, dtype)))
    };
    if let Some(p) = &options.predicate {
        let fields = p.fields();
        if fields.iter().all(|f| file.partition(f).is_some()) {
            let get = |name: &str| known(name).expect("a partition key");
            if let Ok(false) = p.include(&get) {
                return false;
            }
        }
    }
    options.filters.as_ref().is_none_or(|f| f.may_include(&known))
}

/// A partition directory value typed as the field declares.
fn partition_value(value: &str, dtype: FieldDType) -> Value {
    use FieldDType as F;
    let parsed = match dtype {
        F::Int8 | F::Int16 | F::Int32 | F::Int64 | F::UInt8 | F::UInt16 | F::UInt32 | F::UInt64 => {
            value.parse::<i128>().ok().map(Value::Int)
        }
        F::Float16 | F::Float32 | F::Float64 => value.parse::<f64>().ok().map(Value::Float),
        F::Bool => value.parse::<bool>().ok().map(Value::Bool),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::Str(value.to_string()))
}
