#!/usr/bin/env bash
# Installs everything duel and its tests need, from the package registries
# only, and is quick when run again. Usage: bash scripts/setup.sh [--bench]
#   --bench   also the PyTorch peer for `pnpm bench:throughput`
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*" >&2; }
bench=0
for arg in "$@"; do case "$arg" in --bench) bench=1 ;; *) say "unknown option $arg"; exit 2 ;; esac; done

# 1. Debian packages: the embedded default's data set, Chromium for the report
#    test, tcmalloc (a faster allocator for TensorFlow).
need=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ] || [ "$(uname -m)" != x86_64 ] || need+=(libtcmalloc-minimal4)
command -v g++ >/dev/null 2>&1 || need+=(g++ make)
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. pnpm 10 (pnpm 11 needs a newer Node than 20).
if ! pnpm --version 2>/dev/null | grep -q '^10\.'; then
  say "npm install -g pnpm@10.34.9"
  npm install -g pnpm@10.34.9 >/dev/null
fi

# 3. Node dependencies from the lock file.
pnpm install --frozen-lockfile --reporter=silent

# 4. Python environments: reference scripts + TensorFlow; MLflow on its own
#    (its pins and TensorFlow's disagree on protobuf). uv resolves and fetches
#    in parallel (pip took 20+ minutes here, one index round trip at a time);
#    the PyTorch peer comes through pip, which finds the CPU wheel on local disk.
python=${DUEL_BASE_PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  say "pip install uv"
  "$python" -m pip install -q --disable-pip-version-check uv==0.13.9
fi
venv() { # dir installer requirements...
  local dir=$1 installer=$2; shift 2
  local stamp="$dir/.duel-stamp${STAMP_SUFFIX:-}" want
  want=$(cat "$@" | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  say "python venv $dir ($*)"
  # --seed: pip inside too (setup-tensorflow.mjs fetches the wheel with it).
  [ -x "$dir/bin/python" ] || uv venv -q --seed -p "$python" "$dir"
  if [ "$installer" = uv ] || [ "$installer" = uv-no-deps ]; then
    VIRTUAL_ENV="$dir" uv pip install -q $([ "$installer" = uv-no-deps ] && echo --no-deps) $(printf -- '-r %s ' "$@")
  else
    "$dir/bin/python" -m pip install -q --disable-pip-version-check $(printf -- '-r %s ' "$@")
  fi
  echo "$want" > "$stamp"
}
reqs=(reference/requirements.txt)
[ $bench = 1 ] && reqs+=(reference/requirements-bench.txt)
venv .venv "$([ $bench = 1 ] && echo pip || echo uv)" "${reqs[@]}"
STAMP_SUFFIX=-convert venv .venv uv-no-deps reference/requirements-convert.txt
venv .venv-mlflow uv reference/requirements-mlflow.txt

# 5. tfjs-node's addon, built against the TensorFlow C library from the wheel.
DUEL_PYTHON=.venv/bin/python node scripts/setup-tensorflow.mjs
say "ready"
