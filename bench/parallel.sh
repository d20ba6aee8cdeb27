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
#           ogg 160k   peel out.ogg -b 160k (Vorbis)      vs  ffmpeg -c:a libvorbis -b:a 160k
#           flac       peel out.flac                      vs  ffmpeg -c:a flac
#           each also as peel --segment-parallel=off (serial), the same encoder on one thread.
#           batch      a folder of the 10-minute file and ten 30-second clips to mp3 192k:
#                      peel -R (one pool: the long file's segments go between the clips) vs
#                      xargs -P cores of ffmpeg (the long file holds one core throughout);
#                      "serial" is peel with --segment-parallel=off (each file on one thread).
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

peel_ogg=("$peel" "$input" -o "$work/p.ogg" -b 160k -y -q -j "$cores" --segment-parallel=on)
serial_ogg=("$peel" "$input" -o "$work/s.ogg" -b 160k -y -q --segment-parallel=off)
ffmpeg_ogg=(ffmpeg -nostdin -v error -y -i "$input" -vn -c:a libvorbis -b:a 160k "$work/f.ogg")
peel_flac=("$peel" "$input" -o "$work/p.flac" -y -q -j "$cores" --segment-parallel=on)
serial_flac=("$peel" "$input" -o "$work/s.flac" -y -q --segment-parallel=off)
ffmpeg_flac=(ffmpeg -nostdin -v error -y -i "$input" -vn -c:a flac "$work/f.flac")

# The mixed batch: the long file (hard-linked, or copied across file systems) and ten clips.
mixed=$bench_root/bench/.cache/mixed-v1
if [ ! -e "$mixed/.complete" ]; then
  echo "making $mixed: the long file and ten 30 s clips (once; cached) ..."
  rm -rf "$mixed"; mkdir -p "$mixed"
  ln "$input" "$mixed/long.mp4" 2>/dev/null || cp "$input" "$mixed/long.mp4"
  for i in $(seq 0 9); do
    ffmpeg -hide_banner -nostdin -v error -y -f lavfi -i "testsrc2=size=320x240:rate=30:duration=30" \
      -f lavfi -i "sine=frequency=$((200 + 37 * i)):sample_rate=48000:duration=30,tremolo=f=4:d=0.5" \
      -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05:seed=$i:duration=30" \
      -filter_complex "[1:a][2:a]amix=inputs=2:normalize=0,pan=stereo|c0=c0|c1=c0[a]" \
      -map 0:v -map "[a]" -c:v libx264 -preset ultrafast -c:a aac -b:a 128k "$mixed/clip-$i.mp4"
  done
  touch "$mixed/.complete"
fi
cat "$mixed"/*.mp4 >/dev/null
peel_batch=("$peel" -R "$mixed" -d "$work/pb" -f mp3 -b 192k -y -q -j "$cores")
serial_batch=("$peel" -R "$mixed" -d "$work/sb" -f mp3 -b 192k -y -q -j "$cores" --segment-parallel=off)
# shellcheck disable=SC2016
ffmpeg_batch=(bash -c 'mkdir -p "$2"; printf "%s\0" "$1"/*.mp4 | xargs -0 -P "$3" -I{} sh -c \
  '"'"'b=${1##*/}; exec ffmpeg -nostdin -v error -y -i "$1" -vn -c:a libmp3lame -b:a 192k "$2/${b%.mp4}.mp3"'"'"' _ {} "$2"' \
  _ "$mixed" "$work/fb" "$cores")

cases=(mp3 aac opus ogg flac batch)
for c in "${cases[@]}"; do
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
for c in "${cases[@]}"; do
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
  "opus peel $(stat -c %s "$work/p.opus") serial $(stat -c %s "$work/s.opus");" \
  "ogg peel $(stat -c %s "$work/p.ogg") serial $(stat -c %s "$work/s.ogg");" \
  "flac peel $(stat -c %s "$work/p.flac") serial $(stat -c %s "$work/s.flac")"
cmp -s "$work/p.flac" "$work/s.flac" && echo "flac: peel's segmented file is byte-identical to its serial one" ||
  echo "flac: WARNING: the segmented file differs from the serial one"
[ "$(ls "$work/pb" | wc -l)" = 11 ] && [ "$(ls "$work/fb" | wc -l)" = 11 ] ||
  echo "batch: WARNING: not every file was written"
