//! Native log records for the bindings: a global `log::Log` that keeps records in a bounded
//! in-memory queue, which a binding drains from a daemon thread into Python `logging` or slf4j.
//!
//! Nothing is kept until a binding sets a level ([`set_level`]): `log`'s max level starts `Off`,
//! so the `log!` macros cost one atomic load. `tracing` events of dependencies (object_store)
//! arrive here too, through `tracing`'s `log` feature. Producers never block: past
//! [`CAPACITY`] records the oldest is dropped and counted, and the count reaches the consumer
//! as a warning record. The queue belongs to one process: a `fork()`ed child gets a fresh one,
//! so a lock held by a parent thread at the fork never blocks it.

use std::collections::VecDeque;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata};

use crate::error::{Error, Result};

/// Records held at most before the oldest are dropped.
pub const CAPACITY: usize = 10_000;

/// One log record as the bindings receive it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub level: Level,
    /// The `log` target: a module path (`petastorm_native::dataset::reader`, `object_store::...`).
    pub target: String,
    pub message: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The emitting thread's name (`petastorm-decode-3`; see `thread_name`).
    pub thread: String,
}

impl Record {
    fn now(level: Level, target: &str, message: String) -> Record {
        let time_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let thread = THREAD_NAME.try_with(String::clone).unwrap_or_else(|_| thread_name());
        Record { level, target: target.to_owned(), message, time_ms, thread }
    }

    /// The binding-side logger name: `petastorm.native.` + the target's module path below the
    /// crate (`petastorm.native.dataset.reader`), or + the crate name for a dependency
    /// (`petastorm.native.object_store`).
    pub fn logger(&self) -> String {
        let path = match self.target.strip_prefix("petastorm_native::") {
            Some(module) => module.replace("::", "."),
            None => self.target.split("::").next().unwrap_or_default().to_owned(),
        };
        match path.is_empty() {
            true => "petastorm.native".to_owned(),
            false => format!("petastorm.native.{path}"),
        }
    }

    /// `{"level": 1..5 (error..trace), "logger", "target", "message", "time_ms", "thread"}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "level": self.level as usize,
            "logger": self.logger(),
            "target": self.target,
            "message": self.message,
            "time_ms": self.time_ms,
            "thread": self.thread,
        })
        .to_string()
    }
}

thread_local! {
    static THREAD_NAME: String = thread_name();
}

/// The Rust name of the current thread, else its operating-system name (a JVM or Python thread
/// calling in), else its Rust id.
fn thread_name() -> String {
    let current = std::thread::current();
    if let Some(name) = current.name() {
        return name.to_owned();
    }
    std::fs::read_to_string("/proc/thread-self/comm")
        .ok()
        .map(|comm| comm.trim_end().to_owned())
        .filter(|comm| !comm.is_empty())
        .unwrap_or_else(|| format!("{:?}", current.id()))
}

/// A bounded queue of records: producers never wait, the oldest record is dropped when full.
pub struct Queue {
    capacity: usize,
    state: Mutex<State>,
    ready: Condvar,
}

struct State {
    records: VecDeque<Record>,
    dropped: u64,
}

impl Queue {
    pub fn new(capacity: usize) -> Queue {
        let state = State { records: VecDeque::new(), dropped: 0 };
        Queue { capacity: capacity.max(1), state: Mutex::new(state), ready: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, record: Record) {
        let mut st = self.lock();
        if st.records.len() >= self.capacity {
            st.records.pop_front();
            st.dropped += 1;
        }
        st.records.push_back(record);
        drop(st);
        self.ready.notify_one();
    }

    /// The next record, waiting up to `timeout` for one; `None` on timeout. After drops, the
    /// next call returns a warning that counts them, before the records kept.
    pub fn take(&self, timeout: Duration) -> Option<Record> {
        let mut st = self.wait_for_record(timeout);
        if st.dropped > 0 {
            let message = format!(
                "{} native log records were dropped: the consumer fell behind (at most {} are kept)",
                std::mem::take(&mut st.dropped),
                self.capacity
            );
            return Some(Record::now(Level::Warn, module_path!(), message));
        }
        st.records.pop_front()
    }

    /// Waits up to `timeout` until a record (or a drop count) is there, without taking it.
    pub fn wait(&self, timeout: Duration) -> bool {
        let st = self.wait_for_record(timeout);
        st.dropped > 0 || !st.records.is_empty()
    }

    /// The state once it holds something, or when `timeout` has passed. The lock is released
    /// while waiting, so producers never wait for a consumer.
    fn wait_for_record(&self, timeout: Duration) -> MutexGuard<'_, State> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while st.records.is_empty() && st.dropped == 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { break };
            st = self.ready.wait_timeout(st, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        st
    }
}

/// The queue of one process.
struct ProcessQueue {
    pid: u32,
    queue: Queue,
}

static QUEUE: AtomicPtr<ProcessQueue> = AtomicPtr::new(null_mut());

/// This process's queue, created on first use and again in a forked child (the parent's is
/// leaked there: its lock may be held by a thread that does not exist in the child).
fn queue() -> &'static Queue {
    let pid = std::process::id();
    let current = QUEUE.load(Ordering::Acquire);
    // SAFETY: QUEUE holds null or a leaked `Box<ProcessQueue>`, never freed.
    if let Some(q) = unsafe { current.as_ref() }.filter(|q| q.pid == pid) {
        return &q.queue;
    }
    let fresh = Box::into_raw(Box::new(ProcessQueue { pid, queue: Queue::new(CAPACITY) }));
    let installed = match QUEUE.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(winner) => {
            // Another thread of this process installed one first.
            // SAFETY: `fresh` was never shared.
            drop(unsafe { Box::from_raw(fresh) });
            winner
        }
    };
    // SAFETY: as above; leaked, so `'static`.
    unsafe { &(*installed).queue }
}

struct QueueLogger;

impl Log for QueueLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            queue().push(Record::now(record.level(), record.target(), record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

/// Installs the queue logger (once; a no-op when another logger was installed first, e.g. by
/// a Rust program using this crate) and keeps records up to `level`:
/// 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace.
pub fn set_level(level: i64) -> Result<()> {
    const FILTERS: [LevelFilter; 6] = [
        LevelFilter::Off,
        LevelFilter::Error,
        LevelFilter::Warn,
        LevelFilter::Info,
        LevelFilter::Debug,
        LevelFilter::Trace,
    ];
    let filter = usize::try_from(level)
        .ok()
        .and_then(|l| FILTERS.get(l))
        .ok_or_else(|| Error::value(format!("log level {level} is not 0 (off) to 5 (trace)")))?;
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = log::set_logger(&QueueLogger);
    });
    log::set_max_level(*filter);
    Ok(())
}

/// The next record of this process, waiting up to `timeout`; `None` on timeout.
pub fn take(timeout: Duration) -> Option<Record> {
    queue().take(timeout)
}

/// Waits up to `timeout` until a record can be taken; false on timeout.
pub fn wait(timeout: Duration) -> bool {
    queue().wait(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn record(message: &str) -> Record {
        Record::now(Level::Info, "petastorm_native::dataset::reader", message.to_owned())
    }

    #[test]
    fn the_oldest_records_are_dropped_and_counted() {
        let q = Queue::new(3);
        (0..5).for_each(|i| q.push(record(&i.to_string())));
        let warning = q.take(Duration::ZERO).expect("the drop count");
        assert_eq!(warning.level, Level::Warn);
        assert!(warning.message.starts_with("2 native log records were dropped"), "{}", warning.message);
        let kept: Vec<String> = std::iter::from_fn(|| q.take(Duration::ZERO)).map(|r| r.message).collect();
        assert_eq!(kept, ["2", "3", "4"]);
        q.push(record("5"));
        assert_eq!(q.take(Duration::ZERO).unwrap().message, "5", "the count was reported once");
    }

    #[test]
    fn take_and_wait_time_out_when_empty() {
        let q = Queue::new(3);
        let start = Instant::now();
        assert_eq!(q.take(Duration::from_millis(60)), None);
        assert!(!q.wait(Duration::from_millis(60)));
        assert!(start.elapsed() >= Duration::from_millis(120), "{:?}", start.elapsed());
    }

    #[test]
    fn a_waiting_consumer_wakes_up_on_a_record() {
        let q = Arc::new(Queue::new(3));
        let producer = Arc::clone(&q);
        let start = Instant::now();
        let t = std::thread::Builder::new()
            .name("producer".into())
            .spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                producer.push(record("late"));
            })
            .unwrap();
        assert!(q.wait(Duration::from_secs(10)));
        let r = q.take(Duration::ZERO).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!((r.message.as_str(), r.thread.as_str()), ("late", "producer"));
        t.join().unwrap();
    }

    #[test]
    fn loggers_and_json_name_the_module() {
        let r = record("opened");
        assert_eq!(r.logger(), "petastorm.native.dataset.reader");
        let dep = Record { target: "object_store::client::retry".into(), ..r.clone() };
        assert_eq!(dep.logger(), "petastorm.native.object_store");
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["level"], 3);
        assert_eq!(json["logger"], "petastorm.native.dataset.reader");
        assert_eq!(json["message"], "opened");
        assert!(json["time_ms"].as_u64().unwrap() > 1_600_000_000_000);
    }

    /// The only test that changes the global level (other tests log concurrently: their
    /// records are skipped by message).
    #[test]
    fn the_global_logger_keeps_records_up_to_the_level() {
        assert!(set_level(6).is_err() && set_level(-1).is_err());
        set_level(3).unwrap();
        log::debug!("debug-marker-7f3a");
        log::info!("info-marker-7f3a");
        tracing::info!("tracing-marker-7f3a");
        let mut seen = Vec::new();
        while let Some(r) = take(Duration::from_millis(500)) {
            if r.message.ends_with("-marker-7f3a") {
                seen.push((r.level, r.target.clone(), r.message.clone()));
            }
            if r.message == "tracing-marker-7f3a" {
                break;
            }
        }
        let target = module_path!().to_owned();
        assert_eq!(
            seen,
            [
                (Level::Info, target.clone(), "info-marker-7f3a".to_owned()),
                (Level::Info, target, "tracing-marker-7f3a".to_owned())
            ]
        );
        set_level(0).unwrap();
        log::error!("off-marker-7f3a");
        while let Some(r) = take(Duration::ZERO) {
            assert_ne!(r.message, "off-marker-7f3a");
        }
    }
}
