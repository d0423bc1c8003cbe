#!/usr/bin/env bash
# Upstream Petastorm 0.13.1, in its own venv, reads what this project writes: tests/upstream/write_ours.py
# writes one dataset per write path (Python materialize_dataset, partitioned, write_dataset, Scala
# DatasetWriter.writeDataset) with every codec and nullable fields, and records the values;
# tests/upstream/check_upstream_reads.py reads each with upstream's make_reader and compares them.
# Needs scripts/build.sh first (.venv, the library, the jar). Not in scripts/test.sh (see the README).
#   UPSTREAM_VENV  upstream's venv (default /tmp/petastorm-upstream; created with the pins below if absent)
#   INTEROP_OUT    where the datasets go (default: a new temporary directory)
#   PETASTORM_JAR  the jar (default jvm/target/petastorm-native.jar)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
up="${UPSTREAM_VENV:-/tmp/petastorm-upstream}"
out="${INTEROP_OUT:-$(mktemp -d /tmp/petastorm-interop.XXXXXX)}"
start=$SECONDS
if [ ! -x "$up/bin/python" ] || ! "$up/bin/python" -c 'import petastorm' 2>/dev/null; then
  echo "== creating upstream's venv $up"
  python3.11 -m venv "$up"
  "$up/bin/pip" install -q 'petastorm==0.13.1' 'pyarrow==14.0.2' 'numpy<2' 'pandas<2.2' 'pyspark==3.5.3' \
    opencv-python-headless
fi
versions='import petastorm, pyarrow, numpy as np; print(petastorm.__version__, pyarrow.__version__, np.__version__)'
echo "== upstream (petastorm, pyarrow, numpy): $("$up/bin/python" -c "$versions")"
echo "== writing the datasets with this project (spark-submit, Python and Scala paths) into $out"
PYTHONPATH="$root/python" PYSPARK_PYTHON="$root/.venv/bin/python" PYSPARK_DRIVER_PYTHON="$root/.venv/bin/python" \
  scripts/spark-submit --master 'local[2]' --conf spark.ui.enabled=false --driver-memory 1g \
  --jars "${PETASTORM_JAR:-jvm/target/petastorm-native.jar}" tests/upstream/write_ours.py "$out" 2>"$out.spark.log" \
  || { tail -40 "$out.spark.log"; exit 1; }
failed=()
for expected in "$out"/*.expected.npz; do
  name="$(basename "$expected" .expected.npz)"
  echo "== upstream reads $name"
  "$up/bin/python" tests/upstream/check_upstream_reads.py "file://$out/$name" "$expected" | tail -1 \
    || failed+=("$name")
done
echo "TODO: row-group indexes (petastorm.etl.rowgroup_indexing is not on main yet)"
echo "interop: $(( SECONDS - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: upstream could not read ${failed[*]}"
  exit 1
fi
echo "upstream 0.13.1 read every dataset with identical values"
