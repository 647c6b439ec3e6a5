#!/usr/bin/env bash
# ci/bench.d/instructions.sh [BINARY] [N]: user-space instructions per cheap request, counted by
# callgrind (issue 12). Where ci/bench times requests (and needs a quiet machine), this counts
# instructions, which repeat for the same binary and requests whatever else the machine runs:
# the figure to compare two builds of the request path by.
#
# Runs BINARY (default target/release/eventmpm) as `-X` (one child, in the foreground) under
# valgrind --tool=callgrind with a configuration like ci/bench's (access log on, keep-alive),
# warms it with 4,000 requests, zeroes the counters, sends N (default 20,000) keep-alive
# requests for a 1 KiB file with h2load -c20, dumps, and prints "N Ir/request" and the file
# to read with `callgrind_annotate --inclusive=no`. Loopback only; the server is stopped by PID;
# everything lives in a temporary directory that is removed at the end (the profile is copied
# to instructions.callgrind in the directory it was started from).
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-target/release/eventmpm}")
n=${2:-20000}
command -v valgrind >/dev/null || sudo -n apt-get install -y -q valgrind 2>/dev/null || apt-get install -y -q valgrind
command -v h2load >/dev/null || { echo "h2load missing (ci/install installs it)" >&2; exit 1; }
dir=$(mktemp -d /tmp/eventmpm-instructions.XXXXXX)
vp=
cleanup() { [ -n "$vp" ] && kill "$vp" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/htdocs" "$dir/logs" "$dir/run"
head -c 1024 /dev/zero | tr '\0' 'x' > "$dir/htdocs/1k.txt"
cat > "$dir/eventmpm.conf" <<EOC
ServerRoot "$dir"
Listen 127.0.0.1:$port
ServerName 127.0.0.1:$port
PidFile run/eventmpm.pid
ErrorLog logs/error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %b %D %{remote}p" peer
CustomLog logs/access.log peer
DocumentRoot "$dir/htdocs"
StartServers 1
ThreadsPerChild 25
KeepAlive On
MaxKeepAliveRequests 100
EOC
valgrind --tool=callgrind --callgrind-out-file="$dir/out.%p" --trace-children=yes \
  "$bin" -X -f "$dir/eventmpm.conf" >"$dir/valgrind.log" 2>&1 &
vp=$!
for _ in $(seq 120); do
  curl -s -o /dev/null "http://127.0.0.1:$port/1k.txt" && break
  sleep 0.5
done
h2load --h1 -c20 -n4000 "http://127.0.0.1:$port/1k.txt" >/dev/null
callgrind_control -z "$vp" >/dev/null 2>&1
h2load --h1 -c20 -n"$n" "http://127.0.0.1:$port/1k.txt" | grep -E "^requests:"
callgrind_control -d "$vp" >/dev/null 2>&1
sleep 1
kill "$vp"; wait "$vp" 2>/dev/null || true; vp=
f=$(ls "$dir"/out.*.1 | head -1)
total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
cp "$f" "$here/instructions.callgrind"
echo "$((total / n)) Ir/request ($total over $n requests; profile: $here/instructions.callgrind)"
