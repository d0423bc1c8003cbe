//! The reader pipeline: plan items are decoded in parallel on a Rayon pool and delivered in
//! plan order. At most `capacity` batches are held (decoded or being decoded), at most
//! `workers` items decode at once, and no item starts while the decoded batches waiting for
//! the consumer take `budget` bytes or more (one always may: progress is guaranteed);
//! `stop()` and drop cancel and return promptly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use rayon::{ThreadPool, ThreadPoolBuilder};

use super::decode::cancelled;
use super::plan::{Cursor, Item, Plan};
use crate::error::{Error, Result};
use crate::ffi::guard;

/// Reads one item: `(item, rows seed, cancel flag)` → a batch, or `None` when no row is left.
pub type Job = Arc<dyn Fn(&Item, u64, &AtomicBool) -> Result<Option<RecordBatch>> + Send + Sync>;

/// How long `stop()` (and drop) wait for running items before returning anyway.
const STOP_WAIT: Duration = Duration::from_millis(800);

pub struct Pipeline {
    shared: Arc<Shared>,
}

struct Shared {
    plan: Arc<Plan>,
    job: Job,
    workers: usize,
    capacity: usize,
    /// Bytes of decoded batches waiting for the consumer above which no item starts.
    budget: usize,
    state: Mutex<State>,
    changed: Condvar,
    pool: Mutex<Option<Pool>>,
}

struct Pool {
    pid: u32,
    pool: Arc<ThreadPool>,
    exits: Arc<(Mutex<usize>, Condvar)>,
}

struct State {
    cursor: Cursor,
    generation: u64,
    cancel: Arc<AtomicBool>,
    next_seq: u64,
    next_deliver: u64,
    /// Items of this generation being decoded.
    in_flight: usize,
    /// Items of earlier generations (before a reset or stop) still running.
    stale: usize,
    /// Finished items by sequence number, with the bytes of their batches.
    ready: BTreeMap<u64, (Result<Option<RecordBatch>>, usize)>,
    /// The bytes of the batches in `ready`.
    ready_bytes: usize,
    exhausted: bool,
    stopped: bool,
    /// The most batches ever held decoded at once.
    max_ready: usize,
    /// The most bytes ever held in decoded batches at once.
    max_ready_bytes: usize,
}

impl Pipeline {
    /// A pipeline over `plan`; nothing runs until the first `next()`.
    pub fn new(plan: Arc<Plan>, job: Job, workers: usize, capacity: usize, budget: usize) -> Pipeline {
        let state = State {
            cursor: Cursor::new(&plan, 0),
            generation: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            next_seq: 0,
            next_deliver: 0,
            in_flight: 0,
            stale: 0,
            ready: BTreeMap::new(),
            ready_bytes: 0,
            exhausted: false,
            stopped: false,
            max_ready: 0,
            max_ready_bytes: 0,
        };
        let shared = Shared {
            plan,
            job,
            workers: workers.max(1),
            capacity: capacity.max(1),
            budget,
            state: Mutex::new(state),
            changed: Condvar::new(),
            pool: Mutex::new(None),
        };
        Pipeline { shared: Arc::new(shared) }
    }

    /// The next batch in plan order (blocking); `None` at the end or after `stop()`.
    pub fn next(&self) -> Result<Option<RecordBatch>> {
        let mut st = self.shared.lock();
        loop {
            if st.stopped {
                return Ok(None);
            }
            self.shared.fill(&mut st);
            let seq = st.next_deliver;
            if let Some((result, bytes)) = st.ready.remove(&seq) {
                st.ready_bytes -= bytes;
                st.next_deliver += 1;
                self.shared.fill(&mut st);
                match result {
                    Ok(None) => continue,
                    other => return other,
                }
            }
            if st.exhausted && st.in_flight == 0 {
                return Ok(None);
            }
            st = self.shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Cancels running items, drops held batches; later `next()` calls return `None`.
    pub fn stop(&self) {
        let mut st = self.shared.lock();
        if !st.stopped && st.in_flight > 0 {
            log::debug!("stopping: cancelling {} row groups being decoded", st.in_flight);
        }
        st.stopped = true;
        st.cancel.store(true, Ordering::Relaxed);
        st.ready.clear();
        st.ready_bytes = 0;
        self.shared.changed.notify_all();
        let deadline = Instant::now() + STOP_WAIT;
        while st.in_flight > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
            st = self.shared.changed.wait_timeout(st, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Starts the plan again from its next epoch (cancelling what is running).
    pub fn reset(&self) {
        let mut st = self.shared.lock();
        st.cancel.store(true, Ordering::Relaxed);
        st.cancel = Arc::new(AtomicBool::new(false));
        st.stale += st.in_flight;
        st.in_flight = 0;
        st.generation += 1;
        st.cursor = Cursor::new(&self.shared.plan, st.cursor.next_epoch());
        log::debug!("reset: the plan starts again (cancelled {} row groups being decoded)", st.stale);
        st.next_seq = 0;
        st.next_deliver = 0;
        st.ready.clear();
        st.ready_bytes = 0;
        st.exhausted = false;
        st.stopped = false;
        self.shared.changed.notify_all();
    }

    /// The most decoded batches held at once so far.
    pub fn max_ready(&self) -> usize {
        self.shared.lock().max_ready
    }

    /// The most bytes of decoded batches held at once so far.
    pub fn max_ready_bytes(&self) -> usize {
        self.shared.lock().max_ready_bytes
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
        let idle = {
            let st = self.shared.lock();
            st.in_flight == 0 && st.stale == 0
        };
        let pool = self.shared.pool.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(Pool { pid, pool, exits }) = pool {
            let threads = pool.current_num_threads();
            drop(pool);
            // Join the pool's threads (they exit once idle); never wait long, never in a fork.
            if idle && pid == std::process::id() {
                let (count, cv) = &*exits;
                let deadline = Instant::now() + STOP_WAIT;
                let mut exited = count.lock().unwrap_or_else(|p| p.into_inner());
                while *exited < threads {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
                    exited = cv.wait_timeout(exited, left).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Submits items while there is room: fewer than `workers` running, fewer than
    /// `capacity` held (running + decoded) and the decoded ones under `budget` bytes (or none).
    fn fill(self: &Arc<Self>, st: &mut State) {
        while !st.stopped
            && !st.exhausted
            && st.in_flight + st.stale < self.workers
            && st.in_flight + st.ready.len() < self.capacity
            && (st.ready.is_empty() || st.ready_bytes < self.budget)
        {
            let Some((item, epoch, index)) = st.cursor.next(&self.plan) else {
                st.exhausted = true;
                break;
            };
            let seq = st.next_seq;
            st.next_seq += 1;
            let pool = match self.pool() {
                Ok(pool) => pool,
                Err(e) => {
                    st.ready.insert(seq, (Err(e), 0));
                    st.exhausted = true;
                    break;
                }
            };
            st.in_flight += 1;
            let (generation, cancel, shared) = (st.generation, Arc::clone(&st.cancel), Arc::clone(self));
            let seed = self.plan.rows_seed(epoch, index);
            pool.spawn(move || {
                let result = match cancel.load(Ordering::Relaxed) {
                    true => Err(cancelled()),
                    false => guard(|| (shared.job)(&item, seed, &cancel)),
                };
                shared.complete(generation, seq, result);
            });
        }
    }

    fn complete(self: &Arc<Self>, generation: u64, seq: u64, result: Result<Option<RecordBatch>>) {
        let mut st = self.lock();
        if generation == st.generation {
            st.in_flight -= 1;
            if !st.stopped {
                let bytes = match &result {
                    Ok(Some(batch)) => batch.get_array_memory_size(),
                    _ => 0,
                };
                st.ready.insert(seq, (result, bytes));
                st.ready_bytes += bytes;
                st.max_ready = st.max_ready.max(st.ready.len());
                st.max_ready_bytes = st.max_ready_bytes.max(st.ready_bytes);
            }
        } else {
            st.stale -= 1;
        }
        self.fill(&mut st);
        drop(st);
        self.changed.notify_all();
    }

    /// The decode pool, built on first use and again in a forked child.
    fn pool(&self) -> Result<Arc<ThreadPool>> {
        let mut slot = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let pid = std::process::id();
        if let Some(p) = slot.as_ref().filter(|p| p.pid == pid) {
            return Ok(Arc::clone(&p.pool));
        }
        if let Some(stale) = slot.take() {
            // The parent's threads do not exist here: never join or drop them.
            log::info!("process {pid} was forked from {}: starting a fresh decode pool", stale.pid);
            std::mem::forget(stale);
        }
        let exits = Arc::new((Mutex::new(0usize), Condvar::new()));
        let on_exit = Arc::clone(&exits);
        let pool = ThreadPoolBuilder::new()
            .num_threads(self.workers)
            .thread_name(|i| format!("petastorm-decode-{i}"))
            .exit_handler(move |_| {
                let (count, cv) = &*on_exit;
                *count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                cv.notify_all();
            })
            .build()
            .map_err(|e| Error::internal(format!("starting the decode pool: {e}")))?;
        let pool = Arc::new(pool);
        log::debug!("started a decode pool of {} threads (petastorm-decode-*) in process {pid}", self.workers);
        *slot = Some(Pool { pid, pool: Arc::clone(&pool), exits });
        Ok(pool)
    }
}
