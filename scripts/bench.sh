#!/usr/bin/env bash
# Benchmarks against upstream Petastorm 0.13.1, side by side: the codecs (ours in Rust, then
# OpenCV/NumPy on the same cells), the readers (python/benchmarks/compare_upstream.py: rows/s of
# both packages on the same generated datasets, ratios, the targets, peak RSS), then
# materialization with Spark (python/benchmarks/bench_materialize.py: upstream's PySpark path,
# ours from PySpark and from Scala).
#
# Upstream lives in its own venv (both packages are named `petastorm`), set up once with:
#   python3.11 -m venv /tmp/upvenv
#   /tmp/upvenv/bin/pip install petastorm==0.13.1 'pyarrow==14.0.2' 'numpy<2' 'pandas<2.2' \
#       pyspark==3.5.3 opencv-python-headless torch==2.4.1
# and is found through UPSTREAM_PYTHON (default /tmp/upvenv/bin/python).
# Usage: scripts/bench.sh [compare_upstream.py options, e.g. --scale 0.5]
# Takes about 15 minutes on 2 cores; run it on an otherwise idle machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
export UPSTREAM_PYTHON="${UPSTREAM_PYTHON:-/tmp/upvenv/bin/python}"
"$UPSTREAM_PYTHON" -c "import petastorm, torch, cv2" || {
  echo "no upstream venv at $UPSTREAM_PYTHON (see the header of $0)"; exit 1; }
scripts/build.sh
echo "== codecs, ours (cargo bench -p petastorm-native --bench codecs)"
cargo bench -q -p petastorm-native --bench codecs
echo "== codecs, OpenCV/NumPy (native/benches/codecs_reference.py)"
"$UPSTREAM_PYTHON" native/benches/codecs_reference.py
echo "== readers, ours vs upstream (python/benchmarks/compare_upstream.py)"
.venv/bin/python python/benchmarks/compare_upstream.py "$@"
echo "== materialization with Spark, ours vs upstream (python/benchmarks/bench_materialize.py)"
.venv/bin/python python/benchmarks/bench_materialize.py
