"""Faults while writing, in ``local-cluster[2,1,1024]`` (executors are separate JVMs, children of the
driver): an executor JVM killed (by pid) in the middle of a JVM ``writeDataset`` and of a converter
write, and the driver killed in the middle of ``materialize_dataset``. The job either completes through
Spark's retries, giving every row once, or leaves no dataset that looks complete (no
``_common_metadata``; the reader raises); a rerun then succeeds. Every wait is bounded. The job reads
its dataset back itself (a converter's directory goes when its process exits).
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from e2e import ROOT, SPARK_SUBMIT
from jobs.slow_write import ROWS

JOB = ROOT / 'tests' / 'jobs' / 'slow_write.py'
START_TIMEOUT_S = 240  # spark-submit until the write's tasks run, on a loaded machine
RUN_TIMEOUT_S = 420


class Job:
    """``slow_write.py MODE URL`` under spark-submit, in its own process group; stdout+stderr drained
    by a thread (last lines kept for failure messages)."""

    def __init__(self, jar, mode, url):
        cmd = [str(SPARK_SUBMIT), '--master', 'local-cluster[2,1,1024]', '--conf', 'spark.ui.enabled=false',
               '--conf', 'spark.driver.host=127.0.0.1', '--driver-memory', '1g', '--jars', str(jar), str(JOB),
               mode, url]
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
                   PYTHONPATH=os.pathsep.join([str(ROOT / 'python'), os.environ.get('PYTHONPATH', '')]))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     start_new_session=True)
        self.lines = queue.Queue()
        self.tail = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.tail = (self.tail + [line])[-60:]
            self.lines.put(line.strip())

    def wait_for(self, word, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            if line.startswith(word):
                return line
        pytest.fail('no {} from the job within {} s (exit {}):\n{}'.format(word, timeout, self.proc.poll(),
                                                                             ''.join(self.tail)))

    def finish(self, timeout=RUN_TIMEOUT_S):
        """The exit code, and the rows the job read back (None when it printed none)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail('the job did not end within {} s:\n{}'.format(timeout, ''.join(self.tail)))
        done = [line for line in list(self.lines.queue) if line.startswith('ROWS ')]
        return self.proc.returncode, (json.loads(done[-1].split(' ', 1)[1]) if done else None)

    def executor_pids(self):
        """Pids of the executor JVMs descended from this job's spark-submit."""
        parents = {}
        for p in Path('/proc').iterdir():
            if p.name.isdigit():
                try:
                    parents[int(p.name)] = int((p / 'stat').read_text().rsplit(')', 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass

        def descends(pid):
            while pid > 1:
                pid = parents.get(pid, 0)
                if pid == self.proc.pid:
                    return True
            return False
        pids = []
        for pid in parents:
            try:
                cmdline = Path(f'/proc/{pid}/cmdline').read_bytes()
            except OSError:
                continue
            if b'CoarseGrainedExecutorBackend' in cmdline and descends(pid):
                pids.append(pid)
        return pids

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)


@pytest.fixture
def run_job(jar):
    jobs = []

    def start(mode, url):
        jobs.append(Job(jar, mode, url))
        return jobs[-1]
    yield start
    for job in jobs:  # never leave a Spark cluster behind
        if job.proc.poll() is None:
            job.kill()


def assert_complete(rows):
    """Every row once, with its values (``rows``: what the job read back)."""
    assert rows is not None
    assert sorted(i for i, _ in rows) == list(range(ROWS))
    assert all(vec == [float(i)] * 4 for i, vec in rows)


def assert_not_complete(path):
    from petastorm import make_reader
    assert not (path / '_common_metadata').exists(), sorted(p.name for p in path.iterdir())
    with pytest.raises(Exception) as raised, make_reader(path.as_uri(), workers_count=1, num_epochs=1) as reader:
        list(reader)
    assert str(path) in str(raised.value) or 'metadata' in str(raised.value).lower(), raised.value


def assert_rerun_succeeds(run_job, mode, target):
    rerun = run_job(mode, target.as_uri())
    rc, rows = rerun.finish()
    assert rc == 0, ''.join(rerun.tail)
    assert_complete(rows)


def kill_an_executor_mid_write(run_job, mode, url):
    """Starts the job, kills one executor JVM once tasks run; returns (exit code, rows read back)."""
    job = run_job(mode, url)
    job.wait_for('TASKS_RUNNING', START_TIMEOUT_S)
    deadline = time.time() + 60
    while not job.executor_pids() and time.time() < deadline:
        time.sleep(0.2)
    pids = job.executor_pids()
    assert pids, 'no executor JVM found under spark-submit ' + str(job.proc.pid)
    os.kill(pids[0], signal.SIGKILL)
    return job.finish()


@pytest.mark.parametrize('mode', ['jvm', 'converter'])
def test_an_executor_killed_mid_write_is_retried_or_leaves_no_complete_dataset(run_job, tmp_path, mode):
    target = tmp_path / 'out'
    rc, rows = kill_an_executor_mid_write(run_job, mode, target.as_uri())
    print('{}: the job {} after an executor was killed'.format(mode, 'completed' if rc == 0 else 'failed'))
    if rc == 0:
        assert_complete(rows)  # Spark re-ran the lost tasks: every row once
    else:
        dataset = target if mode == 'jvm' else next(target.iterdir(), target)
        assert_not_complete(dataset)
        assert_rerun_succeeds(run_job, mode, target)


def test_a_driver_killed_in_materialize_dataset_leaves_no_complete_dataset_and_a_rerun_succeeds(run_job, tmp_path):
    target = tmp_path / 'out'
    job = run_job('materialize', target.as_uri())
    job.wait_for('TASKS_RUNNING', START_TIMEOUT_S)
    job.kill()
    assert target.exists()  # the write's job made it before its tasks ran
    assert_not_complete(target)
    assert_rerun_succeeds(run_job, 'materialize', target)
