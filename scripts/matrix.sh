#!/usr/bin/env bash
# The supported stacks, each in its own venv under /tmp: builds the wheel once (`pip wheel python/`),
# installs it with --no-deps beside each combination's pyspark/numpy/pyarrow, runs the Python tests that
# need no torch/TF/remote services (MATRIX_TESTS; the converter's need torch and TF), then the JVM tests
# once per Spark line (Maven: default profile = Spark 4 / Scala 2.13, -Pspark-3.5 = Spark 3.5 / Scala 2.12).
# Prints a table.
# Needs scripts/build.sh first. Not in scripts/test.sh: minutes per combination.
#   scripts/matrix.sh [NAME ...]   only these combinations (names below); MATRIX_JVM=0 skips the JVM tests
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
# name | python | pip requirements | Spark line of the JVM tests
combos=(
  "py3.11-spark3.5-np1.26-pa14|python3.11|pyspark==3.5.3 numpy==1.26.4 pyarrow==14.0.2 pandas==2.1.4|3.5"
  "py3.11-spark3.5-np1.26-pa15|python3.11|pyspark==3.5.3 numpy==1.26.4 pyarrow==15.0.2 pandas==2.1.4|3.5"
  "py3.11-spark4-np2-pa22|python3.11|pyspark==4.0.1 numpy==2.2.6 pyarrow==22.0.0 pandas==2.3.3|4"
  "py3.10-spark3.5-np1.26-pa14|python3.10|pyspark==3.5.3 numpy==1.26.4 pyarrow==14.0.2 pandas==2.1.4|3.5"
  "py3.12-spark4-np2-pa22|python3.12|pyspark==4.0.1 numpy==2.2.6 pyarrow==22.0.0 pandas==2.3.3|4"
  "py3.13-spark4-np2-pa22|python3.13|pyspark==4.0.1 numpy==2.2.6 pyarrow==22.0.0 pandas==2.3.3|4"
)
tests="${MATRIX_TESTS:-python/tests/test_unischema.py python/tests/test_codecs.py python/tests/test_dict_to_spark_row.py
  python/tests/test_fixtures.py python/tests/test_reader_fixtures.py python/tests/test_reader_batch.py
  python/tests/test_reader_without_spark.py python/tests/test_predicates.py python/tests/test_transform.py
  python/tests/test_spark_materialize.py python/tests/test_python_writer.py}"
wanted=("$@")
# An interpreter on PATH, else one of pyenv's installed versions.
find_python() {
  if "$1" -c '' 2>/dev/null; then command -v "$1"; return; fi
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin/"$1"; do
    if [ -x "$candidate" ]; then echo "$candidate"; return; fi
  done
  return 1
}
base=/tmp/petastorm-matrix
mkdir -p "$base/wheel"
rm -f "$base"/wheel/petastorm-*.whl
echo "== building the wheel"
.venv/bin/python -m pip wheel -q --no-deps -w "$base/wheel" "$root/python" || exit 1
wheel="$(ls "$base"/wheel/petastorm-*.whl)"
rows=()
lines=()
for combo in "${combos[@]}"; do
  IFS='|' read -r name python reqs line <<<"$combo"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  if ! python="$(find_python "$python")"; then
    rows+=("| $name | skipped: no $python here | |"); continue
  fi
  start=$SECONDS
  env_dir="$base/$name"
  echo "== $name: venv $env_dir ($reqs)"
  [ -x "$env_dir/bin/python" ] || "$python" -m venv "$env_dir"
  if ! "$env_dir/bin/pip" install -q $reqs pytest==8.4.2 >"$env_dir.install.log" 2>&1 \
      || ! "$env_dir/bin/pip" install -q --no-deps --force-reinstall "$wheel" >>"$env_dir.install.log" 2>&1; then
    rows+=("| $name | install failed (see $env_dir.install.log) | |"); continue
  fi
  # The installed wheel, not python/: no PYTHONPATH; Spark's launcher finds the venv's python3 first.
  summary="$(env -u PYTHONPATH PATH="$env_dir/bin:$PATH" "$env_dir/bin/python" -m pytest -q -p no:cacheprovider \
      $tests 2>&1 | tee "$env_dir.pytest.log" | tail -1)"
  rows+=("| $name | $summary | $(( SECONDS - start )) s |")
  lines+=("$line")
done
if [ "${MATRIX_JVM:-1}" != 0 ]; then
  for line in $(printf '%s\n' "${lines[@]}" | sort -u); do
    start=$SECONDS
    profile=(); [ "$line" = 3.5 ] && profile=(-Pspark-3.5)
    echo "== JVM tests, Spark $line (mvn ${profile[*]} test)"
    mvn -B -f jvm/pom.xml "${profile[@]}" test >"$base/jvm-spark-$line.log" 2>&1
    summary="$(grep -E '^\[(INFO|WARNING|ERROR)\] Tests run:' "$base/jvm-spark-$line.log" | tail -1 \
      | sed 's/^\[[A-Z]*\] //')"
    rows+=("| JVM, Spark $line | ${summary:-build failed (see $base/jvm-spark-$line.log)} | $(( SECONDS - start )) s |")
  done
fi
echo
echo "| combination | result | time |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
