#!/usr/bin/env bash
# Side-by-side cost of running `true`: a plain spawn, a sandboxed run through one resident
# `paddock mcp` server (many calls over one MCP session), and `paddock run -- true` (a new Paddock
# process per command). Prints median and p90 per call and the differences to the plain spawn.
#
# usage: scripts/bench-mcp.sh [CALLS]      (default 200)
#   PADDOCK_BIN=path  the binary to measure (default: target/release/paddock, built if missing)
#
# The MCP client is a minimal JSON-RPC client in Python (stdlib only), so the round trip includes
# its JSON encoding and a pipe write/read each way; the plain spawn is os.posix_spawn + waitpid.
# Timing only: nothing here asserts a number.
set -euo pipefail
calls="${1:-200}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${PADDOCK_BIN:-$root/target/release/paddock}"
if [[ ! -x "$bin" ]]; then
    echo "building $bin (cargo build --release -p paddock-cli) ..." >&2
    (cd "$root" && cargo build --release -p paddock-cli >&2)
fi
command -v python3 >/dev/null || { echo "bench-mcp: python3 is needed for the client; install it" >&2; exit 2; }

work="$(mktemp -d "${root}/target/bench-mcp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ws" "$work/config" "$work/state"
export PADDOCK_CONFIG_DIR="$work/config" PADDOCK_STATE_DIR="$work/state"
unset PADDOCK_SESSION
cd "$work/ws"

python3 - "$bin" "$calls" <<'PY'
import json, os, shutil, statistics, subprocess, sys, time

bin_, calls = sys.argv[1], int(sys.argv[2])
true = shutil.which("true") or sys.exit("no `true` in PATH")

def stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(len(xs) * 0.9) - 1]

def plain():
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        pid = os.posix_spawn(true, [true], os.environ)
        os.waitpid(pid, 0)
        out.append(time.perf_counter() - t)
    return out

def cli():
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        r = subprocess.run([bin_, "run", "--", "true"], stdin=subprocess.DEVNULL)
        out.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"paddock run -- true exited {r.returncode}")
    return out

def mcp():
    p = subprocess.Popen([bin_, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    rd = p.stdout
    ids = iter(range(1, 10**9))
    def send(msg):
        p.stdin.write((json.dumps(msg) + "\n").encode())
    def request(method, params):
        i = next(ids)
        send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        while True:
            line = rd.readline()
            if not line:
                sys.exit("paddock mcp closed the connection")
            m = json.loads(line)
            if m.get("id") == i:
                return m
    init = request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "bench", "version": "0"}})
    if "error" in init:
        sys.exit(f"initialize failed: {init['error']}")
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    args = {"name": "run", "arguments": {"argv": ["true"]}}
    first = request("tools/call", args)
    res = first.get("result", {}).get("structuredContent", {})
    if res.get("exit_code") != 0:
        sys.exit(f"run true through MCP failed: {json.dumps(first)[:2000]}")
    backend = res["enforcement"]["backend"]
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        r = request("tools/call", args)
        out.append(time.perf_counter() - t)
        if r.get("result", {}).get("structuredContent", {}).get("exit_code") != 0:
            sys.exit(f"a call failed: {json.dumps(r)[:2000]}")
    p.stdin.close()
    p.wait(timeout=10)
    return out, backend

plain_t = plain()
(mcp_t, backend) = mcp()
cli_t = cli()
pm, p9 = stats(plain_t)
print(f"{calls} calls each; sandbox backend: {backend}; binary: {bin_}")
print(f"{'':34} {'median':>10} {'p90':>10} {'median - plain':>15} {'ratio':>7}")
for name, xs in [("plain spawn of true", plain_t),
                 ("paddock mcp: run true (resident)", mcp_t),
                 ("paddock run -- true", cli_t)]:
    m, n = stats(xs)
    print(f"{name:34} {m*1e3:>8.3f}ms {n*1e3:>8.3f}ms {(m-pm)*1e3:>13.3f}ms {m/pm:>7.1f}")
mm, _ = stats(mcp_t)
cm, _ = stats(cli_t)
goal = "met" if mm - pm <= 1e-3 else "NOT met"
print(f"goal (MCP within 1 ms of a plain spawn): {goal}; the resident server saves "
      f"{(cm-mm)*1e3:.3f} ms per command over paddock run")
PY
