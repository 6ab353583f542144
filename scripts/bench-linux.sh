#!/usr/bin/env bash
# Start-up cost of Paddock's Linux sandbox: median wall time of
#   paddock run --mode workspace-write --network off -- true
# against bare /bin/true and bubblewrap doing a comparable job, plus the supervisor's peak RSS.
# Uses a release build and hyperfine when available (else a plain timing loop).
# Usage: scripts/bench-linux.sh [RUNS]   (default 300)
set -euo pipefail

runs=${1:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p paddock-cli --manifest-path "$root/Cargo.toml"
paddock="$root/target/release/paddock"
ws=$(mktemp -d)
state=$(mktemp -d)
trap 'rm -rf "$ws" "$state"' EXIT
export PADDOCK_STATE_DIR="$state" PADDOCK_CONFIG_DIR="$state/config"

# paddock-fa: the same front end without a sandbox (full-access), to separate the cost of the
# front end (config, rules, audit log, runner) from the cost of the sandbox itself.
names=(bare paddock-fa paddock bwrap)
cmds=(
  "/bin/true"
  "$paddock run --mode full-access --cwd $ws -- /bin/true"
  "$paddock run --mode workspace-write --network off --cwd $ws -- /bin/true"
  "bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent /bin/true"
)

# Fail loudly rather than time a command that does not work.
for c in "${cmds[@]}"; do $c || { echo "not working: $c" >&2; exit 1; }; done

median_ms() { # command -> median wall time in ms
  if command -v hyperfine >/dev/null; then
    local out
    out=$(mktemp)
    hyperfine -N --warmup 20 --runs "$runs" --export-json "$out" "$1" >/dev/null 2>&1
    python3 -c "import json,sys; print('%.3f' % (json.load(open(sys.argv[1]))['results'][0]['median']*1000))" "$out"
    rm -f "$out"
  else
    python3 - "$runs" "$1" <<'PY'
import shlex, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), shlex.split(sys.argv[2])
for _ in range(20): subprocess.run(cmd, check=True)
t = []
for _ in range(runs):
    s = time.perf_counter(); subprocess.run(cmd, check=True); t.append(time.perf_counter() - s)
print('%.3f' % (statistics.median(t) * 1000))
PY
  fi
}

declare -A med
for i in "${!cmds[@]}"; do med[${names[$i]}]=$(median_ms "${cmds[$i]}"); done

rss_kib=$(/usr/bin/time -v "$paddock" run --mode workspace-write --network off --cwd "$ws" -- /bin/true 2>&1 >/dev/null \
  | awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}')

printf '%-11s %12s %14s\n' "command" "median (ms)" "vs bare true"
for n in "${names[@]}"; do
  printf '%-11s %12s %13sx\n' "$n" "${med[$n]}" "$(python3 -c "print('%.1f' % (${med[$n]} / ${med[bare]}))")"
done
printf 'paddock over bare true: %s ms (sandbox alone, over paddock-fa: %s ms); paddock / bwrap: %s\n' \
  "$(python3 -c "print('%.2f' % (${med[paddock]} - ${med[bare]}))")" \
  "$(python3 -c "print('%.2f' % (${med[paddock]} - ${med[paddock-fa]}))")" \
  "$(python3 -c "print('%.2f' % (${med[paddock]} / ${med[bwrap]}))")"
printf 'paddock peak RSS (largest of supervisor and reaped children): %s KiB (%.1f MiB)\n' \
  "$rss_kib" "$(python3 -c "print($rss_kib / 1024)")"
