#!/usr/bin/env bash
# bench/serve.sh [-n RUNS] [-s STREAMS] [PEEL_BINARY]
#
# peel serve under load on loopback, side by side with its peers in the same run (issue 11,
# load and speed):
#   polls    wrk (2 threads, 50 connections, 10 s) on an export's status, then on a session's
#            state, while two extractions run: requests/s and p99 latency (goals: >= 20,000/s,
#            p99 < 5 ms on a 2-core machine).
#   sse      STREAMS (default 2000) message streams resumed at once (Last-Event-ID) on one
#            message whose export waits in the queue, held 17 s so every one sees a
#            heartbeat: how many stayed open, and the server's RSS (goal: < 150 MB).
#   upload   a 1.2 GB video (the 10-minute input four times, stream copy) uploaded with
#            curl -F to peel serve, against curl -T of the same file to a plain socket sink
#            that writes it to disk (bench/serve_clients.py): ratio of throughputs (goal:
#            >= 0.8) and the server's peak RSS (goal: < 100 MB, flat).
#   extract  the 10-minute input to mp3 with `peel IN -o OUT.mp3 --sync`, and as an export of the
#            same upload through the service (POST to completed, polled every 0.1 s): the
#            service's overhead (goal: <= 5%).
#   runs     upload and extract: N rounds (default 3), medians.
# Every server runs with --rate-limit 0 and --credits off, its data in a scratch folder.
set -euo pipefail
bench=serve.sh
source "$(dirname "$0")/lib.sh"

runs=3
streams=2000
while getopts "n:s:" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    s) streams=$OPTARG ;;
    *) exit 1 ;;
  esac
done
shift $((OPTIND - 1))
peel=$(bench_peel "${1:-}")
bench_require wrk curl python3 ffmpeg
clients=$bench_root/bench/serve_clients.py

work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

input=$(bench_long_input)
big=$bench_root/bench/.cache/serve-2400s-1.2GB.mp4
if [ ! -s "$big" ]; then
  echo "making $big (once; cached) ..." >&2
  ffmpeg -hide_banner -nostdin -v error -y -stream_loop 3 -i "$input" -c copy "$big.part.mp4"
  mv "$big.part.mp4" "$big"
fi

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# start_server [FLAGS...]: a fresh server; sets pid, url, token, sid.
start_server() {
  [ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work/data" "$work/port"
  "$peel" serve --listen 127.0.0.1:0 --data "$work/data" --port-file "$work/port" \
    --rate-limit 0 --credits off --sse-per-client 100000 "$@" 2>>"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  url=http://127.0.0.1:$(head -1 "$work/port")
  token=$(curl -sf -X POST -H "X-Client-Id: bench-$RANDOM" "$url/api/auth/anonymous-token" | json '["data"]["token"]')
  sid=$(curl -sf -X POST -H "Authorization: Bearer $token" -d '{}' "$url/api/tasks/me/with-session/peel" | json '["data"]["session_id"]')
}
auth() { echo "Authorization: Bearer $token"; }
upload() { curl -sf -H "$(auth)" -F "files=@$1" "$url/api/upload-video/peel/me/$sid" -o /dev/null -w '%{time_total}'; }
# export ID FORMAT: queues an export of the session's file.
export_job() {
  curl -sf -H "$(auth)" -H 'X-Skill-Source: bench' -H 'X-Skill-Version: 1' -H 'X-Skill-Platform: linux' \
    -d "{\"id\":\"$1\",\"sessionId\":\"$sid\",\"output\":{\"format\":\"$2\"}}" \
    "$url/api/render/proxy/lambda" -o /dev/null
}
# The status by grep, not python: a poll every 0.1 s must cost the 2 cores next to nothing.
status() { curl -sf -H "$(auth)" "$url/api/render/proxy/lambda/$1" | grep -o '"status":"[a-z]*"' | head -1 | cut -d'"' -f4; }
wait_job() { while :; do s=$(status "$1"); case $s in completed|failed|cancelled) break ;; esac; sleep 0.1; done; echo "$s"; }
rss() { awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

echo "== peel serve on $(nproc) cores; input: $(basename "$input") ($(du -m "$input" | cut -f1) MB) =="

echo "-- extract: the same job on the CLI and through the service, $runs rounds"
start_server --jobs 1
upload "$input" >/dev/null
: >"$work/cli.t"; : >"$work/svc.t"
for r in $(seq "$runs"); do
  t0=$EPOCHREALTIME
  # --sync: the service makes every output durable (fsync before the rename), so the CLI does too.
  "$peel" "$input" -o "$work/cli.mp3" -y -q --sync
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }' >>"$work/cli.t"
  t0=$EPOCHREALTIME
  export_job "render_x$r" mp3
  [ "$(wait_job "render_x$r")" = completed ] || { echo "$bench: the export failed" >&2; exit 1; }
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }' >>"$work/svc.t"
done
cli=$(median <"$work/cli.t"); svc=$(median <"$work/svc.t")
awk -v c="$cli" -v s="$svc" 'BEGIN { printf "cli %.2f s  service %.2f s  overhead %+.1f%% (goal <= 5%%)\n", c, s, 100 * (s / c - 1) }'

echo "-- polls: wrk while two extractions run"
start_server --jobs 2
upload "$input" >/dev/null
export_job render_a mp3
export_job render_b flac
export_job render_poll wav
for target in "/api/render/proxy/lambda/render_poll" "/api/state/peel/me/$sid/latest"; do
  wrk -t2 -c50 -d10s --latency -H "$(auth)" "$url$target" >"$work/wrk.txt"
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.txt")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$work/wrk.txt")
  running=$(status render_a)
  echo "$target: ${rps} req/s, p99 ${p99} (goals >= 20000/s, < 5ms)${non2xx:+, non-2xx $non2xx}; render_a $running"
done

echo "-- sse: $streams streams held on one message"
start_server --jobs 1
upload "$input" >/dev/null
# Six exports ahead in the queue keep the message's own export waiting, its stream open.
for b in 1 2 3 4 5 6; do export_job "render_block$b" mp3; done
body="{\"app_name\":\"peel\",\"user_id\":\"me\",\"session_id\":\"$sid\",\"new_message\":{\"parts\":[{\"text\":\"extract the audio as mp3\"}]}}"
first=$(curl -s -N --max-time 2 -H "$(auth)" -H 'Accept: text/event-stream' -d "$body" "$url/run_sse" | awk '/^id:/ { print $2; exit }' || true)
before=$(rss "$pid" VmRSS)
line=$(python3 "$clients" sse "$url" "$token" "$sid" "$first" "$streams" 17 "$pid")
echo "$line (rss before the streams: $before MB; goal < 150 MB)"

echo "-- upload: $(du -m "$big" | cut -f1) MB, curl -F to peel serve vs curl -T to a socket sink, $runs rounds"
: >"$work/peel.t"; : >"$work/sink.t"; : >"$work/peak.t"
for r in $(seq "$runs"); do
  start_server
  upload "$big" >>"$work/peel.t"; echo >>"$work/peel.t"
  rss "$pid" VmHWM >>"$work/peak.t"; echo >>"$work/peak.t"
  sinkport=$((20000 + RANDOM % 20000))
  python3 "$clients" sink "$sinkport" "$work/sink.bin" >"$work/sink.ready" &
  sinkpid=$!
  for _ in $(seq 50); do grep -q ready "$work/sink.ready" 2>/dev/null && break; sleep 0.1; done
  curl -sf -X POST -T "$big" "http://127.0.0.1:$sinkport/" -o /dev/null -w '%{time_total}\n' >>"$work/sink.t"
  wait "$sinkpid"
  rm -f "$work/sink.bin"
done
tp=$(median <"$work/peel.t"); ts=$(median <"$work/sink.t"); peak=$(median <"$work/peak.t")
mb=$(du -m "$big" | cut -f1)
awk -v p="$tp" -v s="$ts" -v mb="$mb" -v peak="$peak" 'BEGIN {
  printf "peel serve %.2f s (%.0f MB/s)  sink %.2f s (%.0f MB/s)  ratio %.2f (goal >= 0.8)  server peak RSS %s MB (goal < 100)\n",
    p, mb / p, s, mb / s, s / p, peak }'
