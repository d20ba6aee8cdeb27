#!/usr/bin/env bash
# bench/parallel.sh [-n N] [-j "1 2 ..."] [PEEL_BINARY]
#
# Segment-parallel transcoding (docs/parallel.md) side by side with the ffmpeg CLI and with
# peel's own serial path, in one run.
#
#   input   bench/single.sh's cached 10-minute mp4 (AAC 128k 48 kHz stereo + 720p video) in
#           bench/.cache/, made the same way here when missing.
#   cases   mp3 192k   peel -b 192k (segments, -j cores)  vs  ffmpeg -c:a libmp3lame -b:a 192k
#           aac 128k   peel out.m4a --reencode -b 128k    vs  ffmpeg -c:a aac -b:a 128k out.m4a
#           opus 96k   peel out.opus -b 96k               vs  ffmpeg -c:a libopus -b:a 96k
#           each also as peel --segment-parallel=off (serial), the same encoder on one thread.
#   runs    N of each (default 3) after one untimed warm-up; the order rotates every round.
#   prints  medians, speedups (ffmpeg/peel and serial/peel: higher is better; the goal on a
#           2-core machine is mp3 >= 1.8x ffmpeg) as the median of per-round ratios, peel's
#           peak RSS (goal < 64 MB), then the speedup curve of the mp3 case over -j (default
#           1, 2, ... up to the core count).
#
# The input sits in the page cache (read once before timing). Wall time is bash's
# microsecond clock; peak RSS is /usr/bin/time's %M. Needs ffmpeg, ffprobe, /usr/bin/time.
set -euo pipefail

usage() { echo "usage: $0 [-n RUNS] [-j \"J1 J2 ...\"] [PEEL_BINARY]" >&2; exit 2; }

runs=3
cores=$(nproc)
jlist=$(seq -s ' ' 1 "$cores")
while getopts ":n:j:h" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    j) jlist=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
[[ $jlist =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] || usage
[ $# -le 1 ] || usage

bench=parallel.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
peel=$(bench_peel "${1:-}")
bench_require ffmpeg ffprobe /usr/bin/time

input=$(bench_long_input)
echo "input: $input"
echo "cores: $cores; peel uses -j $cores for its segments"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "$input" >/dev/null


peel_mp3=("$peel" "$input" -o "$work/p.mp3" -b 192k -y -q -j "$cores" --segment-parallel=on)
serial_mp3=("$peel" "$input" -o "$work/s.mp3" -b 192k -y -q --segment-parallel=off)
ffmpeg_mp3=(ffmpeg -nostdin -v error -y -i "$input" -vn -c:a libmp3lame -b:a 192k "$work/f.mp3")
peel_aac=("$peel" "$input" -o "$work/p.m4a" --reencode -b 128k -y -q -j "$cores" --segment-parallel=on)
serial_aac=("$peel" "$input" -o "$work/s.m4a" --reencode -b 128k -y -q --segment-parallel=off)
ffmpeg_aac=(ffmpeg -nostdin -v error -y -i "$input" -vn -c:a aac -b:a 128k "$work/f.m4a")
peel_opus=("$peel" "$input" -o "$work/p.opus" -b 96k -y -q -j "$cores" --segment-parallel=on)
serial_opus=("$peel" "$input" -o "$work/s.opus" -b 96k -y -q --segment-parallel=off)
ffmpeg_opus=(ffmpeg -nostdin -v error -y -i "$input" -vn -c:a libopus -b:a 96k "$work/f.opus")

for c in mp3 aac opus; do
  echo "running $c: 1 warm-up + $runs timed runs of each ..."
  timed "peel_$c"; timed "serial_$c"; timed "ffmpeg_$c"
  rm -f "$work/peel_$c" "$work/serial_$c" "$work/ffmpeg_$c"
  for ((i = 0; i < runs; i++)); do
    case $((i % 3)) in
      0) timed "peel_$c"; timed "ffmpeg_$c"; timed "serial_$c" ;;
      1) timed "ffmpeg_$c"; timed "serial_$c"; timed "peel_$c" ;;
      2) timed "serial_$c"; timed "peel_$c"; timed "ffmpeg_$c" ;;
    esac
  done
done

declare -A curve
for j in $jlist; do
  name=curve_$j
  declare -n arr=$name
  arr=("$peel" "$input" -o "$work/j$j.mp3" -b 192k -y -q -j "$j" --segment-parallel=on)
  unset -n arr
  echo "running mp3 -j $j: $runs timed runs ..."
  for ((i = 0; i < runs; i++)); do timed "$name"; done
  curve[$j]=$(median "$work/$name" 1)
done

echo
echo "medians of $runs runs (wall seconds); speedups are medians of per-round ratios"
printf '%-5s %8s %8s %8s %12s %12s %6s %10s\n' case peel serial ffmpeg "ffmpeg/peel" "serial/peel" goal "peel MiB"
for c in mp3 aac opus; do
  goal=$([ "$c" = mp3 ] && echo ">=1.8" || echo "")
  printf '%-5s %8.3f %8.3f %8.3f %11sx %11sx %6s %10.1f\n' "$c" \
    "$(median "$work/peel_$c" 1)" "$(median "$work/serial_$c" 1)" "$(median "$work/ffmpeg_$c" 1)" \
    "$(paired "ffmpeg_$c" "peel_$c")" "$(paired "serial_$c" "peel_$c")" "$goal" \
    "$(awk -v k="$(median "$work/peel_$c" 2)" 'BEGIN { print k / 1024 }')"
done
echo
echo "mp3 192k speedup curve (median wall; speedup vs -j ${jlist%% *}):"
base=${curve[${jlist%% *}]}
for j in $jlist; do
  awk -v j="$j" -v t="${curve[$j]}" -v b="$base" 'BEGIN { printf "  -j %-3s %8.3f s  %5.2fx\n", j, t, b / t }'
done
echo
echo "sizes (bytes): mp3 peel $(stat -c %s "$work/p.mp3") serial $(stat -c %s "$work/s.mp3");" \
  "m4a peel $(stat -c %s "$work/p.m4a") serial $(stat -c %s "$work/s.m4a");" \
  "opus peel $(stat -c %s "$work/p.opus") serial $(stat -c %s "$work/s.opus")"
