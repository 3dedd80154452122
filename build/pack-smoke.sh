#!/usr/bin/env bash
# Packs Transport.IoUring, creates a fresh `dotnet new web` app in a temp dir that restores it from a
# local feed (plus the machine's configured feeds), inserts UseIoUring(), runs it on a free loopback
# port and checks GET /transport answers "io_uring". Usage: build/pack-smoke.sh  (exit 0 = pass)
#
# Each run packs a version of its own and restores into an empty package folder, so NuGet cannot
# hand the app a copy of the package cached by an earlier run (which once let a build without the
# transport's registration pass). TRANSPORT_IOURING_PROJECT packs another copy of the project
# (Sample/PackageSmokeTests uses it to show that a broken build fails).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
project="${TRANSPORT_IOURING_PROJECT:-$repo/src/Transport.IoUring}"
tmp="$(mktemp -d)"; pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
version="0.0.0-smoke.$(date +%s%N).$$"
export NUGET_PACKAGES="$tmp/packages"
dotnet pack "$project" -c Release -o "$tmp/feed" -p:PackageVersion="$version" >/dev/null
ls "$tmp/feed"
mkdir "$tmp/app" && cd "$tmp/app"
cp "$repo/NuGet.config" NuGet.config
dotnet nuget add source "$tmp/feed" -n local --configfile NuGet.config >/dev/null
dotnet new web -n SmokeApp -o . >/dev/null
dotnet add package Transport.IoUring --version "$version" >/dev/null
python3 - <<'PY'
p='Program.cs'; s=open(p).read()
s=s.replace('var app = builder.Build();','builder.WebHost.UseIoUring();\nvar app = builder.Build();')
s=s.replace('app.MapGet("/", () => "Hello World!");','app.MapGet("/transport", (HttpContext c) => c.Features.Get<Transport.IoUring.IIoUringConnectionFeature>() is null ? "sockets" : "io_uring");')
open(p,'w').write(s)
PY
dotnet build -c Release >/dev/null
echo "restored: $(ls "$NUGET_PACKAGES/transport.iouring")"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
dotnet bin/Release/*/SmokeApp.dll --urls "http://127.0.0.1:$port" >"$tmp/app.log" 2>&1 & pid=$!
for i in $(seq 1 100); do body=$(curl -s "http://127.0.0.1:$port/transport" || true); [ -n "$body" ] && break; sleep 0.2; done
echo "GET /transport -> ${body:-<no answer>}"
[ "$body" = "io_uring" ]
