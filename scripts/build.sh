#!/usr/bin/env bash
# Builds everything from a fresh clone: the venv, the Rust library, the Python package
# (editable, with the library copied in) and the jar (which bundles the library).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
scripts/bootstrap.sh
# libjpeg-turbo (built from source by turbojpeg-sys, with cmake) needs NASM for its x86-64 SIMD.
if [ "$(uname -m)" = x86_64 ] && ! command -v nasm >/dev/null; then
  echo "== installing nasm (apt-get)"
  apt-get install -y -q nasm >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nasm >/dev/null; }
fi
echo "== building the native library (cargo, release)"
cargo build --release -q -p petastorm-native
mkdir -p python/petastorm/_lib
cp target/release/libpetastorm_native.so python/petastorm/_lib/
if ! .venv/bin/python -c "import petastorm" 2>/dev/null; then
  echo "== installing the petastorm Python package (editable)"
  .venv/bin/python -m pip install -q --no-deps -e python
fi
echo "== building the jar (maven)"
mvn -B -q -f jvm/pom.xml package -DskipTests
