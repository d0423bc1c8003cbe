#!/usr/bin/env bash
# Runs every test: Rust (cargo), JVM (maven surefire), Python and end-to-end (pytest).
# Builds and installs everything it needs first (scripts/build.sh).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/build.sh || exit 1
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
failed=()
echo "== Rust formatting (cargo fmt --check, rustfmt.toml)"
cargo fmt --check >/dev/null || { cargo fmt --check | head -40; failed+=(rustfmt); }
echo "== Rust lint (cargo clippy -D warnings)"
cargo clippy -q --release -p petastorm-native --all-targets -- -D warnings || failed+=(clippy)
echo "== Python lint (ruff check, ruff.toml)"
.venv/bin/ruff check -q python tests || failed+=(ruff)
echo "== Rust tests"
cargo test --release -p petastorm-native || failed+=(rust)
echo "== JVM tests"
mvn -B -f jvm/pom.xml test || failed+=(jvm)
echo "== Python and end-to-end tests"
.venv/bin/python -m pytest -q python/tests tests || failed+=(python)
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
