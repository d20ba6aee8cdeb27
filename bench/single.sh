#!/usr/bin/env bash
# bench/single.sh [-n N] [PEEL_BINARY]
#
# One large file, peel side by side with the ffmpeg CLI, in one run.
#
#   input   a 10-minute 720p30 H.264 (~3.9 Mbit/s) + AAC-LC 128 kbit/s 48 kHz stereo mp4 of
#           about 300 MB, made once with the ffmpeg CLI from lavfi sources and cached in
#           bench/.cache/ (git-ignored). Delete that folder to make it again.
#   cases   stream copy  peel IN -o out.m4a -y          vs  ffmpeg -i IN -vn -c:a copy out.m4a
#           mp3 192k     peel IN -o out.mp3 -b 192k -y  vs  ffmpeg -i IN -vn -c:a libmp3lame -b:a 192k
#   runs    N of each (default 5) after one untimed warm-up of each; the order alternates
#           every round (peel first, then ffmpeg first, ...) so neither tool always runs on
#           the heels of the other.
#   prints  median wall time of each, the ratio peel/ffmpeg (goals: copy <= 0.35, mp3 <= 1.0),
#           peak RSS of each (goal for peel: < 64 MB), how many bytes of the input each tool
#           reads for the stream copy (goal: only the audio, not the file), counted with strace
#           over the read/pread64 calls on the input's file descriptor; the read calls of the
#           whole process as `strace -c -e trace=pread64,read` counts them (goal for peel:
#           <= 2000), beside the number of runs of adjacent audio packets in the file (one
#           read each is the fewest that reads no video); and start-up: `peel formats` and
#           `ffmpeg -version`, and a stream copy of a 10-second clip, median of 11 runs each,
#           with the number of shared objects each program loads.
#
# Page cache: the input is read into the OS page cache before timing and stays there, so
# both tools read it from memory. That is the same for both and measures the tools rather
# than the disk; on a cold cache a tool that reads fewer bytes would gain more than shown.
#
# Neither tool forces its output to the disk (peel does with --sync); both leave it to the
# OS's write-back, so the timing compares the work each tool does.
#
# The machine's load average is printed before and after: other work makes every figure noisy.
#
# Wall time is taken with bash's microsecond clock around each run (/usr/bin/time's %e
# only has 10 ms steps); peak RSS is /usr/bin/time's %M. Needs: ffmpeg, ffprobe,
# /usr/bin/time (Debian: time), strace (Debian: strace); scripts/bootstrap installs them.
set -euo pipefail

usage() { echo "usage: $0 [-n RUNS] [PEEL_BINARY]" >&2; exit 2; }

runs=5
while getopts ":n:h" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
[ $# -le 1 ] || usage

bench=single.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
peel=$(bench_peel "${1:-}")
bench_require ffmpeg ffprobe strace /usr/bin/time

input=$(bench_long_input)
clip=$(bench_short_input)
load() { cut -d' ' -f1 /proc/loadavg; }
load_before=$(load)
input_bytes=$(stat -c %s "$input")
echo "input: $input ($(awk -v b="$input_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'))"
ffprobe -v error -show_entries stream=codec_type,codec_name,bit_rate,sample_rate,channels,width,height \
  -of compact=p=0:nk=0 "$input" | sed 's/^/  /'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Warm the page cache (see the header).
cat "$input" >/dev/null

# ---------------------------------------------------------------- timing

peel_copy=("$peel" "$input" -o "$work/peel.m4a" -y -q)
ffmpeg_copy=(ffmpeg -nostdin -v error -y -i "$input" -vn -c:a copy "$work/ffmpeg.m4a")
peel_mp3=("$peel" "$input" -o "$work/peel.mp3" -b 192k -y -q)
ffmpeg_mp3=(ffmpeg -nostdin -v error -y -i "$input" -vn -c:a libmp3lame -b:a 192k "$work/ffmpeg.mp3")

for case in copy mp3; do
  echo "running $case: 1 warm-up + $runs timed runs of each ..."
  timed "peel_$case"; timed "ffmpeg_$case"  # warm-up, then forgotten
  rm -f "$work/peel_$case" "$work/ffmpeg_$case"
  for ((i = 1; i <= runs; i++)); do
    if ((i % 2)); then
      timed "peel_$case"; timed "ffmpeg_$case"
    else
      timed "ffmpeg_$case"; timed "peel_$case"
    fi
  done
done


# ---------------------------------------------------------------- checks on the outputs
size() { stat -c %s "$1"; }
# Stream copy: the audio packets must be the same bytes.
pkt_md5() { ffmpeg -nostdin -v error -i "$1" -map 0:a -c copy -f md5 - 2>/dev/null; }
copy_same=$([ "$(pkt_md5 "$work/peel.m4a")" = "$(pkt_md5 "$work/ffmpeg.m4a")" ] && echo yes || echo NO)
# mp3: LAME writes an "Info" tag for CBR and a "Xing" tag for VBR.
mp3_kind() {
  if head -c 8192 "$1" | grep -aq Xing; then echo VBR
  elif head -c 8192 "$1" | grep -aq Info; then echo CBR
  else echo "no tag"; fi
}
mp3_rate() { ffprobe -v error -select_streams a:0 -show_entries stream=bit_rate -of csv=p=0 "$1"; }

# ---------------------------------------------------------------- bytes read (strace)
# Sums the return values of read/pread64/readv/preadv calls on every descriptor that has the
# input open (peel opens it more than once: once to inspect, once to extract).
bytes_read() {
  local log=$work/strace.log
  strace -f -qq -s 0 -e signal=none -e trace=openat,open,close,read,pread64,readv,preadv,dup,dup2,dup3 \
    -o "$log" "$@" >/dev/null 2>&1
  awk -v path="$input" '
    function ret(line,   n) { n = split(line, f, " = "); return n > 1 ? f[n] + 0 : -1 }
    function fdof(line,   s) { s = substr(line, index(line, "(") + 1); return substr(s, 1, index(s, ",") - 1) + 0 }
    {
      pid = $1; line = substr($0, length($1) + 2); sub(/^ +/, "", line)
      if (line ~ /resumed>/) { call = pending_call[pid]; fd = pending_fd[pid] }
      else { call = substr(line, 1, index(line, "(") - 1); fd = (call == "close") ? substr(line, index(line, "(") + 1) + 0 : fdof(line) }
      if (line ~ /<unfinished/) { pending_call[pid] = call; pending_fd[pid] = fd; next }
      r = ret(line)
      if ((call == "openat" || call == "open") && index(line, "\"" path "\"") && r >= 0) { open_fd[r] = 1; opens++ }
      else if (call == "close") delete open_fd[fd]
      else if (call ~ /^dup/ && (fd in open_fd) && r >= 0) open_fd[r] = 1
      else if (call ~ /^(read|pread64|readv|preadv)$/ && (fd in open_fd) && r > 0) { bytes += r; calls++ }
    }
    END { printf "%d %d %d\n", bytes, calls, opens }' "$log"
}
read -r peel_bytes peel_calls peel_opens < <(bytes_read "$peel" "$input" -o "$work/peel-strace.m4a" -y -q)
read -r ff_bytes ff_calls ff_opens < <(bytes_read ffmpeg -nostdin -v error -y -i "$input" -vn -c:a copy "$work/ffmpeg-strace.m4a")
audio_bytes=$(ffprobe -v error -select_streams a:0 -show_entries packet=size -of csv=p=0 "$input" |
  awk '{ s += $1 } END { print s }')

# ---------------------------------------------------------------- read calls (strace -c)
# Every read and pread64 of the process as `strace -c` counts them: the input's and those of
# the dynamic loader reading the shared objects.
read_calls() {
  local log=$work/strace-c.log
  strace -f -c -e trace=pread64,read -o "$log" "$@" >/dev/null 2>&1
  awk '$NF == "read" || $NF == "pread64" { n += $4 } END { print n + 0 }' "$log"
}
peel_rc=$(read_calls "$peel" "$input" -o "$work/peel-strace-c.m4a" -y -q)
ff_rc=$(read_calls ffmpeg -nostdin -v error -y -i "$input" -vn -c:a copy "$work/ffmpeg-strace-c.m4a")
# Runs: audio packets that each start where the one before ends (ffprobe prints size,pos).
read -r audio_packets audio_runs < <(ffprobe -v error -select_streams a:0 -show_entries packet=pos,size \
  -of csv=p=0 "$input" | awk -F, 'NF >= 2 { n++; if ($2 != end) runs++; end = $2 + $1 } END { print n, runs }')

# ---------------------------------------------------------------- start-up
echo "start-up: 11 runs each of peel formats, ffmpeg -version and a stream copy of $(basename "$clip") ..."
cat "$clip" >/dev/null
# shellcheck disable=SC2034  # used through timed's nameref
{
  start_peel=("$peel" formats)
  start_ffmpeg=(ffmpeg -version)
  clip_peel=("$peel" "$clip" -o "$work/clip-peel.m4a" -y -q)
  clip_ffmpeg=(ffmpeg -nostdin -v error -y -i "$clip" -vn -c:a copy "$work/clip-ffmpeg.m4a")
}
for ((i = 0; i < 11; i++)); do
  timed start_peel; timed start_ffmpeg; timed clip_peel; timed clip_ffmpeg
done
objects() { LD_TRACE_LOADED_OBJECTS=1 "$1" 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- report
echo
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# The goal is judged on the median of the per-round ratios (paired, in lib.sh).
row() {  # case goal
  local c=$1 goal=$2 pw fw pm fm ratio mm verdict
  pw=$(median "$work/peel_$c" 1); fw=$(median "$work/ffmpeg_$c" 1)
  pm=$(median "$work/peel_$c" 2); fm=$(median "$work/ffmpeg_$c" 2)
  ratio=$(paired "peel_$c" "ffmpeg_$c")
  mm=$(awk -v p="$pw" -v f="$fw" 'BEGIN { printf "%.2f", p / f }')
  verdict=$(awk -v r="$ratio" -v g="$goal" 'BEGIN { print (r <= g) ? "ok" : "MISS" }')
  printf '%-6s %8.3f %8.3f %6s %8s %-6s %7s %9s %10s %s\n' "$c" "$pw" "$fw" "$ratio" "$mm" "<=$goal" "$verdict" \
    "$(mb "$pm")" "$(mb "$fm")" "$( (( pm < 64 * 1024 )) && echo ok || echo MISS)"
}
echo "medians of $runs runs (wall seconds; peak RSS in MiB); ratio = median of per-round peel/ffmpeg"
printf '%-6s %8s %8s %6s %8s %-6s %7s %9s %10s %s\n' case peel ffmpeg ratio med/med goal "" "peel RSS" "ffmpeg RSS" "(<64)"
row copy 0.35
row mp3 1.0
echo
for c in peel_copy ffmpeg_copy peel_mp3 ffmpeg_mp3; do
  printf '  %-12s wall: %s\n' "$c" "$(awk '{ printf "%.3f ", $1 }' "$work/$c")"
done
echo
echo "outputs:"
echo "  copy  m4a: peel $(size "$work/peel.m4a") B, ffmpeg $(size "$work/ffmpeg.m4a") B; same audio packets: $copy_same"
echo "  mp3  192k: peel $(size "$work/peel.mp3") B $(mp3_kind "$work/peel.mp3") $(mp3_rate "$work/peel.mp3") b/s," \
  "ffmpeg $(size "$work/ffmpeg.mp3") B $(mp3_kind "$work/ffmpeg.mp3") $(mp3_rate "$work/ffmpeg.mp3") b/s"
echo
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 100 * a / b }'; }
mbd() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
echo "stream copy, bytes read from the input (strace; audio packets are $(mbd "$audio_bytes") MB = $(pct "$audio_bytes" "$input_bytes")% of the file):"
echo "  peel   bytes read: $(mbd "$peel_bytes") MB of $(mbd "$input_bytes") MB file ($(pct "$peel_bytes" "$input_bytes")%)" \
  "in $peel_calls reads, $peel_opens opens"
echo "  ffmpeg bytes read: $(mbd "$ff_bytes") MB of $(mbd "$input_bytes") MB file ($(pct "$ff_bytes" "$input_bytes")%)" \
  "in $ff_calls reads, $ff_opens opens"
echo "stream copy, read calls (strace -c -e trace=pread64,read; whole process, loading shared objects included):"
echo "  peel   $peel_rc (goal <= 2000)   ffmpeg $ff_rc"
echo "  the file's audio is $audio_packets packets in $audio_runs runs of adjacent packets (the fewest reads that read no video)"
echo
ms() { awk -v s="$(median "$work/$1" 1)" 'BEGIN { printf "%.1f", 1000 * s }'; }
echo "start-up (median of 11 runs, ms; shared objects loaded):"
echo "  peel formats   $(ms start_peel)   ffmpeg -version   $(ms start_ffmpeg)   objects: peel $(objects "$peel"), ffmpeg $(objects "$(command -v ffmpeg)")"
echo "  10-s clip copy: peel $(ms clip_peel), ffmpeg $(ms clip_ffmpeg), ratio $(paired clip_peel clip_ffmpeg)"
echo
echo "load average (1 min): $load_before before, $(load) after, on $(nproc) cores"
