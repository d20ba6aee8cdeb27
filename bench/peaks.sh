#!/usr/bin/env bash
# bench/peaks.sh [-n N] [PEEL_BINARY]
#
# Waveform peaks of a 2-hour film's audio track, beside the ffmpeg CLI's work on the same file.
#
#   input   2 hours of 720p30 H.264 (~3.9 Mbit/s) + AAC-LC 128 kbit/s 48 kHz stereo mp4 (about
#           3.6 GB): bench_long_input's 10-minute file looped 12 times by stream copy
#           (`ffmpeg -stream_loop 11 -c copy`), made once and cached in bench/.cache/
#           (git-ignored). Delete it to make it again.
#   cases   peaks    peel peaks IN -o peaks.json -y -q        (100 pixels a second, mixed)
#           png      peel peaks IN -o wave.png -y -q          (1800x280)
#           ebur128  ffmpeg -i IN -vn -af ebur128=peak=true -f null -   (the loudness meter)
#           decode   ffmpeg -i IN -vn -f s16le -y /dev/null   (a plain decode: the floor for both)
#   runs    N of each (default 3) after one untimed warm-up of each, the order rotating every
#           round.
#   prints  median wall time of each, and the ratios of peel peaks to each of ffmpeg's. (That
#           the values are exact is for the tests: tests/cli/peaks_test.cc.)
#
# The input is read into the OS page cache first (see bench/single.sh). Needs: ffmpeg,
# /usr/bin/time; scripts/bootstrap installs them.
set -euo pipefail

usage() { echo "usage: $0 [-n RUNS] [PEEL_BINARY]" >&2; exit 2; }

runs=3
while getopts ":n:h" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
[ $# -le 1 ] || usage

bench=peaks.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
peel=$(bench_peel "${1:-}")
bench_require ffmpeg /usr/bin/time

long=$(bench_long_input)
input=$bench_root/bench/.cache/film-7200s-720p30-h264-aac128k-48k.mp4
if [ ! -s "$input" ]; then
  echo "making $input (once; cached) ..." >&2
  ffmpeg -hide_banner -nostdin -v error -y -stream_loop 11 -i "$long" -c copy -map 0 \
    -movflags +faststart "$input.part.mp4" >&2
  mv "$input.part.mp4" "$input"
fi
load() { cut -d' ' -f1 /proc/loadavg; }
load_before=$(load)
echo "input: $input ($(awk -v b="$(stat -c %s "$input")" 'BEGIN { printf "%.1f GB", b / 1e9 }'))"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "$input" >/dev/null

# shellcheck disable=SC2034  # used through timed's nameref
{
  peel_peaks=("$peel" peaks "$input" -o "$work/peaks.json" -y -q)
  peel_png=("$peel" peaks "$input" -o "$work/wave.png" -y -q)
  ffmpeg_ebur128=(ffmpeg -nostdin -v error -i "$input" -vn -af ebur128=peak=true -f null -)
  ffmpeg_decode=(ffmpeg -nostdin -v error -i "$input" -vn -f s16le -y /dev/null)
}
cases=(peel_peaks peel_png ffmpeg_ebur128 ffmpeg_decode)
echo "running: 1 warm-up + $runs timed runs of each of ${cases[*]} ..."
for c in "${cases[@]}"; do timed "$c"; rm -f "$work/$c"; done
for ((i = 0; i < runs; i++)); do
  for ((k = 0; k < ${#cases[@]}; k++)); do timed "${cases[(i + k) % ${#cases[@]}]}"; done
done

echo
echo "medians of $runs runs (wall seconds)"
for c in "${cases[@]}"; do
  printf '  %-16s %8.3f   (%s)\n' "$c" "$(median "$work/$c" 1)" "$(awk '{ printf "%.3f ", $1 }' "$work/$c")"
done
echo "ratios (median of per-round ratios):"
echo "  peel peaks / ffmpeg ebur128  $(paired peel_peaks ffmpeg_ebur128)"
echo "  peel peaks / ffmpeg decode   $(paired peel_peaks ffmpeg_decode)"
echo "  peel png   / ffmpeg decode   $(paired peel_png ffmpeg_decode)"
echo "  goal: peel peaks under 2 s: $(awk -v t="$(median "$work/peel_peaks" 1)" 'BEGIN { print (t < 2) ? "ok" : "MISS" }')"
echo
echo "load average (1 min): $load_before before, $(load) after, on $(nproc) cores"
