#!/usr/bin/env bash
# bench/ask.sh [BUILD_DIR]
#
# Parse time of the plain-language parser behind `peel ask` (peel::nl::understand), with
# Google Benchmark (tests/nl/parser_bench.cc, target peel_nl_bench, built in BUILD_DIR,
# default build/, which should be a Release build).
#
#   Phrasings     every sentence of the parser's tests (tests/nl/phrasings.h), English and
#                 Chinese: time per sentence (items_per_second)
#   RandomText/N  N bytes (1 KB to 10 KB) of the parser's own words, numbers, times, Han,
#                 file names, marks and invalid UTF-8 in random order, the same every run
#
#   prints        Google Benchmark's table, its fit of RandomText's time to O(N), and the
#                 ratio time(10 KB) / time(1 KB): 10 for a parse linear in the length (the
#                 goal), 100 for a quadratic one. Times on a busy machine vary; the ratio,
#                 measured in the same run, much less.
set -euo pipefail
bench=ask.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build=${1:-$bench_root/build}
[ -f "$build/CMakeCache.txt" ] || { echo "$bench: no CMake build in $build" >&2; exit 1; }
cmake --build "$build" --target peel_nl_bench -j "${JOBS:-2}" >/dev/null

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/tests/peel_nl_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=csv

# The median CPU time of 1 KB and of 10 KB, from the CSV (name,iterations,real,cpu,...).
median() { grep "^\"RandomText/$1_median\"" "$out" | cut -d, -f4; }
awk -v small="$(median 1024)" -v large="$(median 10240)" 'BEGIN {
  printf "ask.sh: random text, 10 KB vs 1 KB: %.1fx the time for 10x the bytes (linear: 10x)\n",
         large / small
  printf "ask.sh: %.0f us per KB at 1 KB, %.0f us per KB at 10 KB\n", small / 1e3, large / 1e4
}'
