#!/usr/bin/env bash
# bench/batch.sh [-n RUNS] [-c COUNTS] [-k CASES] [-s] [PEEL_BINARY]
#
# Many small files: one peel process on all cores side by side with the ffmpeg CLI run once
# per file, in one run (issue 3, speed section).
#
#   inputs  100 ten-second 320x240 30 fps H.264 + AAC-LC 128 kbit/s 48 kHz stereo mp4 clips
#           (~0.5 MB each), each with its own tones and noise, made once with the ffmpeg CLI
#           in parallel and cached in bench/.cache/batch/ (git-ignored). Larger sets (-c 1000)
#           are copies of those 100 under distinct names: copies, not hard links, since peel
#           takes a file reached twice (same device and inode) once. Delete the folder to
#           make them again.
#   tools   peel    peel -j $(nproc) -R clips/ -d out/ -f m4a -y -q         (one process)
#           xargs   xargs -P $(nproc) of ffmpeg, one ffmpeg per file
#           loop    a shell for-loop of ffmpeg, one file after another
#   cases   copy    peel ... -f m4a            vs  ffmpeg -i IN -vn -c:a copy OUT.m4a
#           mp3     peel ... -f mp3 -b 192k    vs  ffmpeg -i IN -vn -c:a libmp3lame -b:a 192k OUT.mp3
#                   (both use libavcodec's libmp3lame defaults: CBR 192k, LAME's default -q)
#   counts  the file counts to run (-c, default 100,1000); each count is a separate set.
#   -k      the cases to run (default copy,mp3).
#   runs    N rounds of each (default 5) after an untimed warm-up; the order of the three
#           tools rotates every round so none always runs on the heels of another.
#   prints  per count and case: median wall time of each tool and its cost per file
#           (ms/file), the speed-up of peel over xargs and over the loop (goals: copy >= 8x,
#           mp3 >= 1.5x over xargs -P$(nproc)), peak RSS (goal for peel: < 100 MB for the
#           whole batch), CPU use (%P of /usr/bin/time: 200% = both of 2 cores busy), user
#           and system CPU per file; with two counts, the marginal cost per file between
#           them (fixed costs cancel out); then checks that each tool wrote every output,
#           that the stream copies carry the same audio packets, and that the mp3 sizes agree.
#   -s      skip the shell loop for counts above 100 (at 1000 files it takes ~2.5 minutes
#           a round and adds nothing the 100-file loop does not show).
#
# Peak RSS (/usr/bin/time's %M) is the largest single process: for peel that is the whole
# batch; for xargs -P N of ffmpeg, N ffmpegs run at once, so its footprint is about N times
# the figure shown.
#
# Page cache: the clips are read into the OS page cache before timing (and the sets are
# small enough to stay there), so every tool reads from memory. Outputs are deleted before
# each run, so each tool creates every file; none forces them to disk (peel does with --sync),
# but the previous run's outputs are synced (untimed) before each run so that their write-back
# does not land inside the next tool's timing.
#
# Wall time is bash's microsecond clock around each run. Needs: ffmpeg, ffprobe, xargs,
# /usr/bin/time (Debian: time); scripts/bootstrap installs them.
set -euo pipefail

usage() { echo "usage: $0 [-n RUNS] [-c COUNT[,COUNT...]] [-k copy,mp3] [-s] [PEEL_BINARY]" >&2; exit 2; }

runs=5
counts=100,1000
cases=copy,mp3
skip_loop=0
while getopts ":n:c:k:sh" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    c) counts=$OPTARG ;;
    k) cases=$OPTARG ;;
    s) skip_loop=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
[[ $counts =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || usage
[[ $cases =~ ^(copy|mp3)(,(copy|mp3))?$ ]] || usage
[ $# -le 1 ] || usage
IFS=, read -r -a counts <<<"$counts"
IFS=, read -r -a cases <<<"$cases"

bench=batch.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$bench_root
peel=$(bench_peel "${1:-}")
peel_bin=$peel  # "peel" becomes the command array of that tool below
bench_require ffmpeg ffprobe xargs /usr/bin/time
cores=$(nproc)

# ---------------------------------------------------------------- clips (cached)
# Bump when the clip recipe changes, so old caches are not reused.
recipe=v1-10s-320x240p30-h264-aac128k-48k
cache=$root/bench/.cache/batch
base=$cache/$recipe-100
mkdir -p "$cache"

make_clip() {  # INDEX OUT
  local i=$1 out=$2 f1 f2
  f1=$((180 + i * 7)); f2=$((260 + i * 11))
  ffmpeg -hide_banner -nostdin -v error -y \
    -f lavfi -i "testsrc2=size=320x240:rate=30:duration=10" \
    -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05:seed=$((i + 1)):duration=10" \
    -f lavfi -i "sine=frequency=$f1:sample_rate=48000:duration=10,tremolo=f=3:d=0.5" \
    -f lavfi -i "sine=frequency=$f2:sample_rate=48000:duration=10,tremolo=f=5:d=0.5" \
    -filter_complex "[1:a]asplit[n1][n2];[2:a][n1]amix=inputs=2:normalize=0[l];[3:a][n2]amix=inputs=2:normalize=0[r];[l][r]join=inputs=2:channel_layout=stereo[a]" \
    -map 0:v -map "[a]" \
    -c:v libx264 -preset ultrafast -b:v 300k -g 60 -pix_fmt yuv420p -threads 1 \
    -c:a aac -b:a 128k -ar 48000 -ac 2 \
    -movflags +faststart "$out.part.mp4"
  mv "$out.part.mp4" "$out"
}
export -f make_clip

if [ ! -e "$base/.complete" ]; then
  echo "making 100 clips in $base (once; cached) ..."
  t0=$EPOCHREALTIME
  mkdir -p "$base"
  # shellcheck disable=SC2016
  seq 0 99 | xargs -P "$cores" -I{} bash -c \
    'i=$1; out=$(printf "%s/clip-%03d.mp4" "$2" "$i"); [ -s "$out" ] || make_clip "$i" "$out"' _ {} "$base"
  touch "$base/.complete"
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "made them in %.1f s\n", b - a }'
fi

# set_dir COUNT: a folder of COUNT clips (the 100 base clips repeated under distinct names).
set_dir() {
  local n=$1 dir i
  [ "$n" -eq 100 ] && { echo "$base"; return; }
  dir=$cache/$recipe-$n
  if [ ! -e "$dir/.complete" ]; then
    echo "making $dir: $n copies of the 100 clips (once; cached) ..." >&2
    rm -rf "$dir"; mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
      cp --reflink=auto "$base/$(printf 'clip-%03d.mp4' $((i % 100)))" "$dir/$(printf 'clip-%05d.mp4' "$i")"
    done
    touch "$dir/.complete"
  fi
  echo "$dir"
}

ffprobe -v error -show_entries stream=codec_type,codec_name,bit_rate,sample_rate,channels,width,height \
  -show_entries format=duration,size -of compact=p=0:nk=0 "$base/clip-000.mp4" | sed 's/^/  clip-000.mp4: /'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Other work on the machine slows every tool and makes the ratios noisy: say so.
load() { cut -d' ' -f1 /proc/loadavg; }
load_before=$(load)
if awk -v l="$load_before" -v c="$cores" 'BEGIN { exit !(l > c / 2) }'; then
  echo "batch.sh: warning: load average $load_before on $cores cores: other work is running; timings will be noisy" >&2
fi

# ---------------------------------------------------------------- timing
# timed_clean NAME: lib.sh's timed, plus a fresh $work/out-NAME and the previous outputs
# synced first; appends "wall_s rss_kb cpu_pct user_s sys_s" to $work/NAME.
timed_clean() {
  local name=$1 t0 t1 rss cpu user sys
  local -n cmd=$name
  rm -rf "$work/out-$name"; mkdir -p "$work/out-$name"
  sync  # the previous run's outputs go to disk now, not while this one runs
  t0=$EPOCHREALTIME
  if ! /usr/bin/time -f '%e %M %P %U %S' -o "$work/$name.time" "${cmd[@]}" >"$work/$name.log" 2>&1; then
    echo "batch.sh: $name failed:" >&2
    tail -20 "$work/$name.log" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  read -r _ rss cpu user sys < <(tail -1 "$work/$name.time")
  awk -v a="$t0" -v b="$t1" -v m="$rss" -v c="${cpu%\%}" -v u="$user" -v s="$sys" \
    'BEGIN { printf "%.6f %d %s %s %s\n", b - a, m, c, u, s }' >>"$work/$name"
}


# The ffmpeg arguments of each case; ffmpeg -i IN $ff_args OUT.
ff_copy=(-vn -c:a copy)
ff_mp3=(-vn -c:a libmp3lame -b:a 192k)
# One ffmpeg per file, for xargs: $1 input, $2 output folder, $3 extension, then ff_args.
# Plain sh, no subshells, exec: the only extra process per file is this sh.
# shellcheck disable=SC2016
ff_one='in=$1 dir=$2 ext=$3; shift 3; b=${in##*/}; exec ffmpeg -nostdin -v error -y -i "$in" "$@" "$dir/${b%.mp4}.$ext"'

report=$work/report
: >"$report"
declare -A wall_med  # [case,tool,count] median wall seconds

for n in "${counts[@]}"; do
  clips=$(set_dir "$n")
  cat "$clips"/*.mp4 >/dev/null  # page cache, see the header
  tools=(peel xargs loop)
  ((skip_loop && n > 100)) && tools=(peel xargs)
  for case in "${cases[@]}"; do
    if [ "$case" = copy ]; then
      ext=m4a; peel_args=(-f m4a); ff_args=("${ff_copy[@]}")
    else
      ext=mp3; peel_args=(-f mp3 -b 192k); ff_args=("${ff_mp3[@]}")
    fi
    # shellcheck disable=SC2034  # used through timed_clean's nameref
    {
      peel=("$peel_bin" -j "$cores" -R "$clips" -d "$work/out-peel" "${peel_args[@]}" -y -q)
      # shellcheck disable=SC2016
      xargs=(bash -c 'clips=$1 cores=$2 one=$3 dir=$4 ext=$5; shift 5
                      printf "%s\0" "$clips"/*.mp4 |
                        xargs -0 -P "$cores" -I{} sh -c "$one" _ {} "$dir" "$ext" "$@"' \
             _ "$clips" "$cores" "$ff_one" "$work/out-xargs" "$ext" "${ff_args[@]}")
      # shellcheck disable=SC2016
      loop=(bash -c 'clips=$1 dir=$2 ext=$3; shift 3
                     for f in "$clips"/*.mp4; do
                       b=${f##*/}; ffmpeg -nostdin -v error -y -i "$f" "$@" "$dir/${b%.mp4}.$ext" || exit
                     done' _ "$clips" "$work/out-loop" "$ext" "${ff_args[@]}")
      first=("$clips"/*.mp4)
      warm=(sh -c "$ff_one" _ "${first[0]}" "$work/out-warm" "$ext" "${ff_args[@]}")
    }
    echo "$n files, $case: 1 warm-up + $runs timed rounds of ${tools[*]} ..."
    # shellcheck disable=SC2034
    warm_peel=("$peel_bin" -j "$cores" "${first[@]:0:2*cores}" -d "$work/out-warm_peel" "${peel_args[@]}" -y -q)
    timed_clean warm_peel; timed_clean warm  # warm-up (peel on a few files, ffmpeg on one), then forgotten
    rm -f "$work/peel" "$work/xargs" "$work/loop"
    for ((i = 0; i < runs; i++)); do
      for ((k = 0; k < ${#tools[@]}; k++)); do
        t=${tools[(i + k) % ${#tools[@]}]}
        timed_clean "$t"
        printf '  round %d %-5s %7.3f s\n' $((i + 1)) "$t" "$(tail -1 "$work/$t" | cut -d' ' -f1)"
      done
    done

    # -------------------------------------------------------- outputs of the last round
    check=""
    for t in "${tools[@]}"; do
      got=$(find "$work/out-$t" -name "*.$ext" | wc -l)
      check+="$t $got/$n files $(du -sb "$work/out-$t" | cut -f1) B; "
      [ "$got" -eq "$n" ] || check+="MISSING OUTPUTS; "
    done
    if [ "$case" = copy ]; then
      # The same audio packets, file by file (at most 100 files compared).
      differ=0 compared=0
      for f in $(find "$work/out-peel" -name '*.m4a' -printf '%f\n' | sort | head -100); do
        a=$(ffmpeg -nostdin -v error -i "$work/out-peel/$f" -map 0:a -c copy -f md5 - 2>/dev/null)
        b=$(ffmpeg -nostdin -v error -i "$work/out-xargs/$f" -map 0:a -c copy -f md5 - 2>/dev/null)
        compared=$((compared + 1)); [ "$a" = "$b" ] || differ=$((differ + 1))
      done
      check+="audio packets same as ffmpeg's in $((compared - differ))/$compared files"
    else
      # CBR 192k of the same audio: sizes should agree to a fraction of a percent.
      check+=$(cd "$work/out-peel" && for f in *.mp3; do
        echo "$(stat -c %s "$f") $(stat -c %s "$work/out-xargs/$f" 2>/dev/null || echo 0)"
      done | awk '{ d = ($2 > 0) ? ($1 - $2) / $2 : 1; if (d < 0) d = -d; if (d > m) m = d }
                  END { printf "largest size difference peel vs ffmpeg: %.2f%%", 100 * m }')
      probe_mp3() { ffprobe -v error -select_streams a:0 -show_entries stream=bit_rate,sample_rate,channels \
        -of compact=p=0:nk=1 "$(find "$1" -name '*.mp3' | sort | head -1)"; }
      check+="; first file's bit_rate|sample_rate|channels: peel $(probe_mp3 "$work/out-peel"), ffmpeg $(probe_mp3 "$work/out-xargs")"
    fi

    # -------------------------------------------------------- rows
    goal=$([ "$case" = copy ] && echo 8 || echo 1.5)
    for t in "${tools[@]}"; do
      w=$(median "$work/$t" 1); wall_med[$case,$t,$n]=$w
      m=$(median "$work/$t" 2); c=$(median "$work/$t" 3)
      u=$(median "$work/$t" 4); s=$(median "$work/$t" 5)
      if [ "$t" = peel ]; then
        xr=$(paired xargs peel)
        lr=$( [ -s "$work/loop" ] && paired loop peel || echo -)
        verdict=$(awk -v r="$xr" -v g="$goal" 'BEGIN { print (r >= g) ? "ok" : "MISS" }')
        speed="x$xr vs xargs (goal >=$goal: $verdict), x$lr vs loop"
        memv=$( ((m < 100 * 1024)) && echo "ok" || echo "MISS")
        mem="$(awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }') MiB (<100: $memv)"
      else
        speed=""; mem="$(awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }') MiB per ffmpeg"
      fi
      awk -v n="$n" -v cs="$case" -v t="$t" -v w="$w" -v c="$c" -v u="$u" -v s="$s" -v mem="$mem" -v sp="$speed" \
        'BEGIN { printf "%5d %-4s %-5s %8.3f %8.2f %5.0f%% %7.2f %7.2f  %-28s %s\n",
                 n, cs, t, w, 1000 * w / n, c, 1000 * u / n, 1000 * s / n, mem, sp }' >>"$report"
    done
    echo "      $case checks: $check" >>"$report"
    for t in "${tools[@]}"; do
      printf '      %-5s wall: %s\n' "$t" "$(awk '{ printf "%.3f ", $1 }' "$work/$t")" >>"$report"
    done
    # Also now, so that an interrupted run still shows the cases it finished.
    sed -n "/^ *$n $case /,\$p" "$report"
  done
done

# ---------------------------------------------------------------- report
echo
echo "load average (1 min): $load_before before, $(load) after"
echo "medians of $runs rounds on $cores cores; peel -j $cores, xargs -P $cores; speed-up = median of per-round wall(tool)/wall(peel)"
printf '%5s %-4s %-5s %8s %8s %6s %7s %7s  %-28s %s\n' files case tool "wall s" ms/file CPU "usr ms" "sys ms" "peak RSS" "speed-up of peel"
printf '%5s %-4s %-5s %8s %8s %6s %7s %7s\n' "" "" "" "" "" "" "/file" "/file"
cat "$report"
if [ ${#counts[@]} -ge 2 ]; then
  lo=${counts[0]} hi=${counts[${#counts[@]} - 1]}
  echo
  echo "marginal cost per file from $lo to $hi files ((wall($hi) - wall($lo)) / $((hi - lo)); fixed costs cancel):"
  for case in "${cases[@]}"; do
    for t in peel xargs loop; do
      if [ -z "${wall_med[$case,$t,$lo]:-}" ] || [ -z "${wall_med[$case,$t,$hi]:-}" ]; then continue; fi
      awk -v a="${wall_med[$case,$t,$lo]}" -v b="${wall_med[$case,$t,$hi]}" -v lo="$lo" -v hi="$hi" -v cs="$case" -v t="$t" \
        'BEGIN { printf "  %-4s %-5s %7.2f ms/file (at %d: %.2f, at %d: %.2f)\n", cs, t,
                 1000 * (b - a) / (hi - lo), lo, 1000 * a / lo, hi, 1000 * b / hi }'
    done
  done
fi
