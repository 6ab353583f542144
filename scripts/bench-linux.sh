#!/usr/bin/env bash
# Start-up cost of Paddock's Linux sandbox, measured side by side in one run: median wall time of
# bare /bin/true, `paddock run --mode full-access -- true` (the front end without a sandbox),
# the issue's `paddock run --mode workspace-write --network off -- true`, and bubblewrap doing a
# comparable job when it is installed; each with its difference and ratio against bare true,
# then the supervisor's peak RSS. It prints figures and never judges them: timings depend on
# the machine and its load. Times them with a Python loop that interleaves the commands, round
# by round, with an untimed 30 ms pause before each command (PAUSE_MS), so that neither a
# change of the machine's speed nor the teardown a previous command left to the kernel (a
# namespace's end, a network namespace's cleanup) lands in another command's figure; with
# HYPERFINE=1, hyperfine times each command's runs back to back instead.
# The binary measured is the distribution binary that scripts/build-release.sh builds (release,
# statically linked); with ORDINARY=1 (or DYNAMIC=1, its old name) the plain `cargo build
# --release` binary, the one `cargo install` users get, runs the same sandboxed command too. That
# binary is static-pie as well when the C compiler has a static glibc (crates/paddock-cli/build.rs)
# and dynamically linked otherwise; the script prints which.
# The binaries timed are copies made in a temporary folder under target/, as `cargo install` or a package
# manager places them: an executable still in the page cache as the linker wrote it (small pages
# written through a mapping) started 0.7 ms slower per run than a copy of the same bytes on the
# VM measured (docs/linux.md, "Start-up, eighth round"). With DROP_CACHES=1 (root; CI sets it)
# the page cache is dropped once before the warm-up, so that every program timed, bubblewrap and
# bare `true` included, starts from pages read back from disk, the one state that is the same
# for all of them; the script says whether it did.
# Usage: [ORDINARY=1] [DROP_CACHES=1] [PAUSE_MS=30] [HYPERFINE=1] scripts/bench-linux.sh [RUNS]
#        (default 300 runs)
set -euo pipefail

runs=${1:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
paddock=$("$root/scripts/build-release.sh")
echo "measuring $paddock (built by scripts/build-release.sh)"
if [ "${ORDINARY:-${DYNAMIC:-0}}" = 1 ]; then
  cargo build --release -q -p paddock-cli --manifest-path "$root/Cargo.toml"
  paddock_ordinary="$root/target/release/paddock"
  echo "and the ordinary build $paddock_ordinary: $(file -b "$paddock_ordinary" | cut -d, -f1-4)"
fi
ws=$(mktemp -d)
state=$(mktemp -d)
# Beside the build, not in /tmp: a tmpfs keeps its files in memory, where dropping the page
# cache does not reach them, and the copies would start warmer than bubblewrap.
bin=$(mktemp -d -p "$root/target" bench-bin.XXXXXX)
trap 'rm -rf "$ws" "$state" "$bin"' EXIT
cp "$paddock" "$bin/paddock"
paddock="$bin/paddock"
if [ -n "${paddock_ordinary:-}" ]; then
  cp "$paddock_ordinary" "$bin/paddock-ordinary"
  paddock_ordinary="$bin/paddock-ordinary"
fi
export PADDOCK_STATE_DIR="$state" PADDOCK_CONFIG_DIR="$state/config"
# The issue's command line runs in the workspace: the current directory.
cd "$ws"

names=(bare paddock-fa paddock)
cmds=(
  "/bin/true"
  "$paddock run --mode full-access -- true"
  "$paddock run --mode workspace-write --network off -- true"
)
if [ -n "${paddock_ordinary:-}" ]; then
  names+=(ordinary)
  cmds+=("$paddock_ordinary run --mode workspace-write --network off -- true")
fi
if command -v bwrap >/dev/null; then
  names+=(bwrap)
  cmds+=("bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent /bin/true")
else
  echo "bwrap is not installed: no comparison with bubblewrap" >&2
fi

# Fail loudly rather than time a command that does not work.
for c in "${cmds[@]}"; do $c || { echo "not working: $c" >&2; exit 1; }; done

if [ "${DROP_CACHES:-0}" = 1 ]; then
  if sync && echo 1 > /proc/sys/vm/drop_caches 2>/dev/null; then
    echo "page cache dropped: every program timed starts from pages read back from disk"
    if [ "$(stat -f -c %T "$bin")" = tmpfs ]; then
      echo "but $bin is on a tmpfs, which keeps Paddock's copies in memory:" \
        "they start warmer than bubblewrap" >&2
    fi
  else
    echo "DROP_CACHES=1 but the page cache could not be dropped (not root?); timing as it is" >&2
  fi
else
  echo "page cache not dropped (DROP_CACHES=1 as root does): figures of programs whose pages" \
    "were written in different ways may not compare"
fi

# Median wall time in ms of every command, in order, one per line.
medians_ms() {
  if [ "${HYPERFINE:-0}" = 1 ] && command -v hyperfine >/dev/null; then
    local out
    out=$(mktemp)
    hyperfine -N --warmup 20 --runs "$runs" --export-json "$out" "$@" >/dev/null 2>&1
    python3 -c "import json,sys
for r in json.load(open(sys.argv[1]))['results']: print('%.3f' % (r['median'] * 1000))" "$out"
    rm -f "$out"
  else
    python3 - "$runs" "${PAUSE_MS:-30}" "$@" <<'PY'
import shlex, statistics, subprocess, sys, time
runs, pause = int(sys.argv[1]), int(sys.argv[2]) / 1000
cmds = [shlex.split(c) for c in sys.argv[3:]]
for cmd in cmds:
    for _ in range(20): subprocess.run(cmd, check=True)
# Interleaved: each round times every command once, so a change of the machine's speed
# during the run touches all of them alike; each round starts one command further on, so that
# every command holds every place in a round equally often (the place alone moved a median by
# about 0.1 ms). The pause lets the kernel finish what the previous command left (Paddock ends
# a run before its sandbox's namespaces are torn down; without the pause that cost fell into
# the next command's time).
t = [[] for _ in cmds]
for r in range(runs):
    for k in range(len(cmds)):
        i = (r + k) % len(cmds)
        time.sleep(pause)
        s = time.perf_counter(); subprocess.run(cmds[i], check=True); t[i].append(time.perf_counter() - s)
for xs in t:
    print('%.3f' % (statistics.median(xs) * 1000))
PY
  fi
}

mapfile -t med < <(medians_ms "${cmds[@]}")

for i in "${!names[@]}"; do printf '%-11s %s\n' "${names[$i]}:" "${cmds[$i]}"; done
echo
printf '%-11s %12s %16s %10s\n' "command" "median (ms)" "- bare true (ms)" "/ bare true"
for i in "${!names[@]}"; do
  printf '%-11s %12s %16s %9sx\n' "${names[$i]}" "${med[$i]}" \
    "$(python3 -c "print('%+.2f' % (${med[$i]} - ${med[0]}))")" \
    "$(python3 -c "print('%.1f' % (${med[$i]} / ${med[0]}))")"
done
printf 'sandbox alone (paddock - paddock-fa): %s ms\n' \
  "$(python3 -c "print('%.2f' % (${med[2]} - ${med[1]}))")"
for i in "${!names[@]}"; do
  [ "${names[$i]}" = bwrap ] || continue
  for j in "${!names[@]}"; do
    case "${names[$j]}" in paddock | ordinary) ;; *) continue ;; esac
    printf '%s - bwrap: %s ms; %s / bwrap: %s\n' "${names[$j]}" \
      "$(python3 -c "print('%+.2f' % (${med[$j]} - ${med[$i]}))")" "${names[$j]}" \
      "$(python3 -c "print('%.2f' % (${med[$j]} / ${med[$i]}))")"
  done
done

# The supervisor's own peak (VmHWM), read while the sandboxed command sleeps: by then start-up,
# configuration and the spawn are behind it; what remains (report, audit record) is small.
"$paddock" run --mode workspace-write --network off -- sleep 0.5 &
sup=$!
sleep 0.3
hwm_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$sup/status")
wait "$sup"
# An upper bound over the whole run: the largest of the supervisor, the init and the command.
max_kib=$(/usr/bin/time -f '%M' "$paddock" run --mode workspace-write --network off -- true 2>&1 >/dev/null | tail -n 1)
printf 'supervisor peak RSS (VmHWM during the run): %s KiB (%s MiB)\n' \
  "$hwm_kib" "$(python3 -c "print('%.1f' % ($hwm_kib / 1024))")"
printf 'largest peak RSS of any process of the run: %s KiB (%s MiB)\n' \
  "$max_kib" "$(python3 -c "print('%.1f' % ($max_kib / 1024))")"
