# Shared by the bench/ scripts (sourced, not run). The sourcing script sets `bench` (its name,
# for messages) before sourcing, and `work` (a scratch folder) before calling timed/paired.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench_peel [PATH]: the absolute path of the peel binary to measure (default build/peel).
bench_peel() {
  local p=${1:-$bench_root/build/peel}
  [[ $p == */* ]] || p=$(command -v "$p")
  p=$(cd "$(dirname "$p")" && pwd)/$(basename "$p")
  [ -x "$p" ] || { echo "$bench: no peel binary at $p; build it or pass its path" >&2; exit 1; }
  echo "$p"
}

# bench_require TOOL...: every tool must be there.
bench_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$bench: $tool is missing; run scripts/bootstrap" >&2; exit 1; }
  done
}

# bench_long_input: prints the path of the cached 10-minute 720p30 H.264 (~3.9 Mbit/s) +
# AAC-LC 128 kbit/s 48 kHz stereo mp4 (about 300 MB), making it once with the ffmpeg CLI.
# Audio: pink noise plus a tremolo'd tone per channel, so encoders see something music-like;
# video: testsrc2, ultrafast to keep making it short.
bench_long_input() {
  local cache=$bench_root/bench/.cache
  local input=$cache/single-600s-720p30-h264-3900k-aac128k-48k.mp4
  mkdir -p "$cache"
  if [ ! -s "$input" ]; then
    echo "making $input (once; cached) ..." >&2
    local t0=$EPOCHREALTIME tmp=$input.part.mp4
    ffmpeg -hide_banner -nostdin -v error -y \
      -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=600" \
      -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.08:duration=600" \
      -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=600,tremolo=f=3:d=0.5" \
      -f lavfi -i "sine=frequency=331:sample_rate=48000:duration=600,tremolo=f=5:d=0.5" \
      -filter_complex "[1:a]asplit[n1][n2];[2:a][n1]amix=inputs=2:normalize=0[l];[3:a][n2]amix=inputs=2:normalize=0[r];[l][r]join=inputs=2:channel_layout=stereo[a]" \
      -map 0:v -map "[a]" \
      -c:v libx264 -preset ultrafast -b:v 3900k -maxrate 3900k -bufsize 7800k -g 60 -pix_fmt yuv420p \
      -c:a aac -b:a 128k -ar 48000 -ac 2 \
      -movflags +faststart "$tmp" >&2
    mv "$tmp" "$input"
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "made it in %.1f s\n", b - a }' >&2
  fi
  echo "$input"
}

# bench_short_input: prints the path of a cached 10-second 320x240 30 fps H.264 + AAC-LC
# 128 kbit/s 48 kHz stereo mp4 (about 0.5 MB), the size of one clip of bench/batch.sh.
bench_short_input() {
  local cache=$bench_root/bench/.cache
  local input=$cache/short-10s-320x240p30-h264-aac128k-48k.mp4
  mkdir -p "$cache"
  if [ ! -s "$input" ]; then
    echo "making $input (once; cached) ..." >&2
    ffmpeg -hide_banner -nostdin -v error -y \
      -f lavfi -i "testsrc2=size=320x240:rate=30:duration=10" \
      -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05:duration=10" \
      -map 0:v -map 1:a -c:v libx264 -preset ultrafast -b:v 300k -g 60 -pix_fmt yuv420p \
      -c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart "$input.part.mp4" >&2
    mv "$input.part.mp4" "$input"
  fi
  echo "$input"
}

# timed NAME: runs the command in the array NAME once; appends "wall_s rss_kb" to $work/NAME.
# Wall time is bash's microsecond clock (/usr/bin/time's %e has 10 ms steps); peak RSS is
# /usr/bin/time's %M.
timed() {
  local name=$1 t0 t1 rss
  local -n cmd=$name
  t0=$EPOCHREALTIME
  if ! /usr/bin/time -f '%e %M' -o "$work/$name.time" "${cmd[@]}" >"$work/$name.out" 2>&1; then
    echo "$bench: $name failed:" >&2
    cat "$work/$name.out" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  read -r _ rss <"$work/$name.time"
  awk -v a="$t0" -v b="$t1" -v m="$rss" 'BEGIN { printf "%.6f %d\n", b - a, m }' >>"$work/$name"
}

# median FILE COLUMN
median() {
  awk -v c="$2" '{ print $c }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# paired A B: the median of the per-round ratios wall(A)/wall(B) of the runs recorded in
# $work/A and $work/B, one line a run with the wall time first (the runs of a round are
# neighbours in time, so load from elsewhere mostly cancels out of their ratio).
paired() {
  paste -d' ' "$work/$1" "$work/$2" | awk '{ printf "%.6f\n", $1 / $(NF / 2 + 1) }' | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
