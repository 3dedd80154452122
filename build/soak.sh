#!/usr/bin/env bash
# Soak run: samples/WebApp on io_uring under mixed traffic for a bounded time, with its fd count,
# RSS, threads and the server-side sockets of its port sampled at the start and the end.
#
#   build/soak.sh [SECONDS]          (default 120; every load step is bounded in time)
#
# Traffic, round-robin in steps of ~10 s: plaintext keep-alive (bombardier, 64 connections),
# pipelined plaintext (wrk ×16), 4 KiB uploads echoed (bombardier POST), 1 MiB downloads,
# connection churn (the harness's churn client), and 200 client resets mid-download (python3).
# Needs: bombardier (PATH or ../shared/tools/bombardier), wrk, python3. Loopback only. It ends
# only the server it started, by PID. Verdict: "flat" when, after the load and 5 s of quiet, the
# rings hold no connection (io_uring.active_connections from the sample's console metrics), the
# fds and the port's open server-side sockets are back to their values before the load, and RSS
# at the end is within 15 % of RSS after the first round of all six traffic kinds (the heap grows
# to the load in that first round; a leak keeps growing after it).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-120}
PORT=${PORT:-5199}
BOMBARDIER=$(command -v bombardier || echo ../shared/tools/bombardier)
WORK=$(mktemp -d)
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

dotnet build -c Release samples/WebApp -v q >/dev/null
dotnet build -c Release build/Transport.IoUring.Benchmarks -v q >/dev/null
# The transport's counters come from the sample's console metrics exporter, every second.
Logging__LogLevel__Default=Warning Metrics__ExportIntervalMilliseconds=1000 \
  dotnet samples/WebApp/bin/Release/net10.0/WebApp.dll --metrics console --urls "http://127.0.0.1:$PORT" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/transport" >/dev/null 2>&1 && break; sleep 0.2; done
[ "$(curl -sf "http://127.0.0.1:$PORT/transport")" = "io_uring" ] || { echo "the sample is not serving on io_uring"; cat "$WORK/server.log"; exit 1; }

fds() { ls "/proc/$SERVER_PID/fd" | wc -l; }
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$SERVER_PID/status"; }
threads() { awk '/^Threads/{print $2}' "/proc/$SERVER_PID/status"; }
# ESTABLISHED (01) or CLOSE_WAIT (08) sockets whose local port is the server's: held by an fd.
open_sockets() { awk -v p=":$(printf '%04X' "$PORT")" 'NR>1 && substr($2, length($2)-4)==p && ($4=="01" || $4=="08")' /proc/net/tcp | wc -l; }
# The last exported value of a transport instrument, summed over rings (and tags).
counter() { python3 - "$WORK/server.log" "$1" <<'PY'
import sys
name, lines = sys.argv[2], open(sys.argv[1], errors="replace").read().split("\n")
last = None
for i, line in enumerate(lines):
    if line.startswith("Metric Name: " + name + ","):
        total = 0
        for follow in lines[i + 1:]:
            if follow.startswith("Metric Name:"): break
            if follow.strip().startswith("Value:"): total += float(follow.split(":", 1)[1])
        last = total
print("?" if last is None else int(last))
PY
}
sample() { echo "$1: fds $(fds), RSS $(rss_kib) KiB, threads $(threads), open server-side sockets $(open_sockets), io_uring.active_connections $(counter io_uring.active_connections), buffer_ring.exhaustions $(counter io_uring.buffer_ring.exhaustions), cq.overflows $(counter io_uring.cq.overflows)"; }

cat > "$WORK/pipeline.lua" <<'LUA'
init = function(args) local r = {} for i = 1, 16 do r[i] = wrk.format() end req = table.concat(r) end
request = function() return req end
LUA
head -c 4096 /dev/zero > "$WORK/body4k"
cat > "$WORK/resets.py" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(b"GET /download?size=4194304 HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(16384)
    s.close()  # RST mid-download
PY

# Warm up, then the baseline.
"$BOMBARDIER" -c 64 -d 5s "http://127.0.0.1:$PORT/plaintext" >/dev/null
sleep 2
BEFORE_FDS=$(fds); BEFORE_RSS=$(rss_kib); BEFORE_SOCKETS=$(open_sockets)
sample "before"

END=$(( $(date +%s) + SECONDS_TOTAL ))
step=0; requests=0
while [ "$(date +%s)" -lt "$END" ]; do
  case $((step % 6)) in
    0) n=$("$BOMBARDIER" -c 64 -d 10s -p r -o json "http://127.0.0.1:$PORT/plaintext" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(r["req2xx"])') ;;
    1) n=$(wrk -t 1 -c 128 -d 10s -s "$WORK/pipeline.lua" "http://127.0.0.1:$PORT/plaintext" | awk '/requests in/{print $1}') ;;
    2) n=$("$BOMBARDIER" -c 32 -d 10s -m POST -f "$WORK/body4k" -p r -o json "http://127.0.0.1:$PORT/echo" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(r["req2xx"])') ;;
    3) n=$("$BOMBARDIER" -c 16 -d 10s -p r -o json "http://127.0.0.1:$PORT/download?size=1048576" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(r["req2xx"])') ;;
    4) n=$(dotnet build/Transport.IoUring.Benchmarks/bin/Release/net10.0/Transport.IoUring.Benchmarks.dll churn-client --url "http://127.0.0.1:$PORT/plaintext" --connections 32 --duration 10 | python3 -c "import json,sys; print(json.load(sys.stdin).get(\"responses\", 0))" || echo 0) ;;
    5) timeout 60 python3 "$WORK/resets.py" "$PORT"; n=0 ;;
  esac
  requests=$((requests + ${n:-0}))
  step=$((step + 1))
  sample "after step $step"
  # RSS once every kind of traffic has run: the heap has grown to the load by then.
  [ "$step" -eq 6 ] && WARM_RSS=$(rss_kib)
done

sleep 5
AFTER_ACTIVE=$(counter io_uring.active_connections)
AFTER_FDS=$(fds); AFTER_RSS=$(rss_kib); AFTER_SOCKETS=$(open_sockets)
sample "after 5 s of quiet"
echo "steps: $step, responses counted: $requests, transport now: $(curl -sf "http://127.0.0.1:$PORT/transport")"
WARM_RSS=${WARM_RSS:-$BEFORE_RSS}
echo "RSS: $BEFORE_RSS KiB before, $WARM_RSS after the first round of every traffic kind, $AFTER_RSS at the end"
if [ "$AFTER_ACTIVE" = "0" ] && [ "$AFTER_FDS" -le "$BEFORE_FDS" ] && [ "$AFTER_SOCKETS" -le "$BEFORE_SOCKETS" ] && [ "$AFTER_RSS" -lt $((WARM_RSS * 115 / 100)) ]; then
  echo "verdict: flat"
else
  echo "verdict: NOT flat (active connections after: $AFTER_ACTIVE, fds $BEFORE_FDS -> $AFTER_FDS, open sockets $BEFORE_SOCKETS -> $AFTER_SOCKETS, RSS $BEFORE_RSS -> $AFTER_RSS KiB)"
  exit 1
fi
