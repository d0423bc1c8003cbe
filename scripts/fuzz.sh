#!/usr/bin/env bash
# The real fuzzing run of every cargo-fuzz target in native/fuzz (nightly Rust, AddressSanitizer;
# installs cargo-fuzz if missing). Not part of scripts/test.sh: the cold ASan build takes too long
# for CI, and `cargo test` already replays the seeds and regressions (native/tests/fuzz_replay.rs).
# Each target starts from its committed seeds (native/fuzz/seeds/T) plus the corpus it grew before
# (native/fuzz/corpus/T, git-ignored) and runs FUZZ_SECONDS (default 240) in one process.
# A crash fails the script and leaves its input in native/fuzz/artifacts/T/: fix the bug, then
# commit the input under native/fuzz/regressions/T/ so fuzz_replay.rs keeps it.
# Usage: FUZZ_SECONDS=60 scripts/fuzz.sh [TARGET...]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/native/fuzz"
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
seconds="${FUZZ_SECONDS:-240}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "no nightly Rust toolchain (cargo fuzz needs it): rustup toolchain install nightly"
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked || { echo "could not install cargo-fuzz"; exit 1; }
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
echo "== building fuzz targets (nightly, sanitizer=address)"
cargo +nightly fuzz build -O || exit 1
failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t (${seconds}s)"
  log="$(mktemp)"
  if cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 >"$log" 2>&1; then
    grep -E '^(#[0-9]+: |Done )' "$log" | tail -1
  else
    tail -40 "$log"
    failed+=("$t")
  fi
  rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FUZZ FAILURES: ${failed[*]} (inputs in native/fuzz/artifacts/)"
  exit 1
fi
