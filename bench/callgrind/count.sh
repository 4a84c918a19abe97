#!/usr/bin/env bash
# Instructions for 100 bids: bench/callgrind/count.sh [worker|sender] [postgresql|sqlite]
# (SEND_ONE=1: the sender one write a batch). Needs valgrind and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/../.."
PART=${1:-worker} DB=${2:-postgresql}
out=$(mktemp -d)
python=.venv/bin/python
gcc -O2 -shared -fPIC -I"$($python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" bench/callgrind/cgtoggle.c \
  -o "$out/cgtoggle$($python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
PYTHONPATH="$out" PART=$PART DB=$DB valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no \
  --callgrind-out-file="$out/callgrind.%p" $python -m pytest -q -p tests.conftest bench/callgrind/instructions_test.py >"$out/log" 2>&1 \
  || { tail -20 "$out/log"; exit 1; }
total=$(cat "$out"/callgrind.*.* | awk '/^totals:/ {s += $2} END {print s}')
echo "$PART, $DB${SEND_ONE:+, one write a batch}: $total instructions for 100 bids"
rm -rf "$out"
