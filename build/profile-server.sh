#!/usr/bin/env bash
# CPU profile of samples/WebApp under one bounded bombardier load, classified by where the server's
# CPU goes (kernel send / receive / scheduling, transport, Kestrel, pipes, runtime, the app), plus
# the server's send sizes (io_uring send CQEs, or sendmsg/sendto returns) and its CPU per request.
#
#   build/profile-server.sh iouring|sockets [PATH] [CONNECTIONS] [SECONDS]
#       (defaults: /download?size=1048576, 16, 5)
#
# The server is pinned to CPU 0 and bombardier to CPU 1, as in the harness. Two loads follow a 3 s
# warm-up: one under `perf record -F 2999 -g`, one under tracepoints and `perf stat` (so the
# call-graph sampling does not skew the send sizes). Needs root (perf, tracepoints), perf,
# bombardier (PATH or ../shared/tools/bombardier), python3. Loopback only; it ends only the server
# it started, by PID. Results in build/profile/out-TRANSPORT-PID/ (summary.txt). Run it only on a
# quiet machine: shares hold up under other load better than rates, but neither is exact.
set -euo pipefail
cd "$(dirname "$0")/.."
TRANSPORT=${1:?iouring or sockets}
URL_PATH=${2:-/download?size=1048576}
CONNECTIONS=${3:-16}
DURATION=${4:-5}
PORT=${PORT:-5197}
BOMBARDIER=$(command -v bombardier || echo ../shared/tools/bombardier)
OUT=build/profile/out-$TRANSPORT-$$
mkdir -p "$OUT"
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT

dotnet build -c Release samples/WebApp -v q >/dev/null
DLL=$PWD/samples/WebApp/bin/Release/net10.0/WebApp.dll
(cd "$(dirname "$DLL")" && exec env -u ASPNETCORE_URLS DOTNET_TC_CallCountingDelayMs=0 \
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 Logging__LogLevel__Default=Warning \
  Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics=None \
  taskset -c 0 dotnet "$DLL" --transport "$TRANSPORT" --urls "http://127.0.0.1:$PORT") > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1 && break; sleep 0.2; done

load() { taskset -c 1 timeout $((DURATION + 20)) "$BOMBARDIER" -c "$CONNECTIONS" -d "${1}s" -l "http://127.0.0.1:$PORT$URL_PATH" > "$2" 2>&1; }
ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
load 3 "$OUT/warmup.txt"

# 1. Call graphs. perf starts after 0.5 s of load and stops 0.5 s before its end.
load "$DURATION" "$OUT/load-profile.txt" &
LOAD=$!
sleep 0.5
timeout $((DURATION + 10)) perf record -F 2999 -g -p "$SERVER_PID" -o "$OUT/perf.data" -- sleep $((DURATION - 1)) > "$OUT/perf-record.log" 2>&1
wait $LOAD

# 2. Send sizes, context switches and CPU per request. OperationKind.Send is user_data's top byte 6.
T0=$(ticks)
load "$DURATION" "$OUT/load-trace.txt" &
LOAD=$!
sleep 0.5
timeout $((DURATION + 10)) perf stat -e context-switches,task-clock -p "$SERVER_PID" -o "$OUT/stat.txt" -- sleep $((DURATION - 1)) > /dev/null 2>&1 &
STAT=$!
timeout $((DURATION + 10)) perf record -o "$OUT/trace.data" -p "$SERVER_PID" \
  -e io_uring:io_uring_complete --filter 'user_data >= 0x0600000000000000 && user_data < 0x0700000000000000' \
  -e syscalls:sys_exit_sendmsg -e syscalls:sys_exit_sendto -- sleep $((DURATION - 1)) > "$OUT/perf-trace.log" 2>&1
wait $STAT $LOAD
T1=$(ticks)
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

python3 build/profile/summarize.py "$OUT" "$TRANSPORT" "$DURATION" "$((T1 - T0))" "$(getconf CLK_TCK)" | tee "$OUT/summary.txt"
