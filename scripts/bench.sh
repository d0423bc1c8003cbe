#!/usr/bin/env bash
# The benchmark table (docs/performance.md): our package against upstream Petastorm 0.13.1, the hardware
# floor and Lance, printed by python/benchmarks/compare_upstream.py as ONE table.
#
# Upstream lives in its own venv (both packages are named `petastorm`), built here when missing with:
#   python3.11 -m venv /tmp/upvenv
#   /tmp/upvenv/bin/pip install petastorm==0.13.1 'pyarrow==14.0.2' 'numpy<2' 'pandas<2.2' pyspark==3.5.3 \
#       opencv-python-headless tensorflow-cpu==2.20.0
# Lance (the columnar torch peer) in another, when missing:  python3.11 -m venv /tmp/lancevenv &&
#   /tmp/lancevenv/bin/pip install pylance
# Both get torch from the project venv (a .pth file naming a folder of links to torch and its pure-Python
# dependencies, after their own site-packages), so every side runs the same torch.
# Found through UPSTREAM_PYTHON / LANCE_PYTHON (defaults /tmp/upvenv/bin/python, /tmp/lancevenv/bin/python).
#
# Usage: scripts/bench.sh [--quick] [compare_upstream.py options, e.g. --scale 0.5 --skip spark]
# About 30 minutes on 2 cores (--quick: a few); run it on an otherwise idle machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
export UPSTREAM_PYTHON="${UPSTREAM_PYTHON:-/tmp/upvenv/bin/python}"
export LANCE_PYTHON="${LANCE_PYTHON:-/tmp/lancevenv/bin/python}"
export PATH="$root/.venv/bin:$PATH"  # pyspark's launcher and spark-submit

# share_torch VENV_PYTHON: the project venv's torch, visible to another venv that has none
share_torch() {
  "$1" -c "import torch" 2>/dev/null && return
  local ours links site
  ours="$(.venv/bin/python -c 'import site; print(site.getsitepackages()[0])')"
  links="$(dirname "$(dirname "$1")")/shared-torch"
  mkdir -p "$links"
  for name in torch torchgen functorch nvidia triton sympy mpmath networkx jinja2 markupsafe filelock; do
    for path in "$ours/$name" "$ours/$name"-*.dist-info "$ours/${name}"_*.dist-info; do
      [ -e "$path" ] && ln -sfn "$path" "$links/"
    done
  done
  site="$("$1" -c 'import site; print(site.getsitepackages()[0])')"
  echo "$links" > "$site/zz_shared_torch.pth"
}

scripts/build.sh
if ! "$UPSTREAM_PYTHON" -c "import petastorm, cv2" 2>/dev/null; then
  echo "== building the upstream venv at $(dirname "$(dirname "$UPSTREAM_PYTHON")")"
  python3.11 -m venv "$(dirname "$(dirname "$UPSTREAM_PYTHON")")"
  "$UPSTREAM_PYTHON" -m pip install -q petastorm==0.13.1 'pyarrow==14.0.2' 'numpy<2' 'pandas<2.2' pyspark==3.5.3 \
    opencv-python-headless
fi
if ! "$UPSTREAM_PYTHON" -c "import tensorflow" 2>/dev/null; then  # the TF row's upstream side
  "$UPSTREAM_PYTHON" -m pip install -q tensorflow-cpu==2.20.0 'numpy<2' || echo "no TensorFlow upstream: the TF row goes without it"
fi
share_torch "$UPSTREAM_PYTHON"
if ! "$LANCE_PYTHON" -c "import lance" 2>/dev/null; then
  echo "== building the Lance venv at $(dirname "$(dirname "$LANCE_PYTHON")")"
  python3.11 -m venv "$(dirname "$(dirname "$LANCE_PYTHON")")"
  "$LANCE_PYTHON" -m pip install -q pylance || echo "no Lance: the table goes without its peer column"
fi
[ -x "$LANCE_PYTHON" ] && share_torch "$LANCE_PYTHON"
.venv/bin/python python/benchmarks/compare_upstream.py "$@"
