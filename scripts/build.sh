#!/usr/bin/env bash
# Builds everything from a fresh clone: the venv, the Rust library, the Python package
# (editable; setuptools-rust runs cargo) and the jar (which bundles the library).
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
echo "== building the native library and installing the petastorm package (setuptools-rust, editable)"
# The same build as `pip wheel python/`: cargo (release, target/) puts the library in python/petastorm/_lib/;
# a no-op when nothing changed.
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e python
echo "== building the jar (maven)"
mvn -B -q -f jvm/pom.xml package -DskipTests
