#!/usr/bin/env bash
# Builds Paddock's distribution binary for Linux: release profile, statically linked against
# glibc (static-pie), so that the start of Paddock (the supervisor; the init too when it is
# executed rather than forked) pays for no dynamic loader (measured: about 0.3 ms each).
# An explicit --target keeps the flag off build scripts and proc-macros, which cannot be static.
# Paddock resolves no user or host names (HOME is read from the environment, no getpwnam or
# getaddrinfo), so a static glibc loses nothing; the link fails loudly if that ever changes.
# The ordinary `cargo build --release` binary is static-pie too where a static glibc is at hand
# (crates/paddock-cli/build.rs); this script is the one that checks the link for NSS.
# Prints the path of the binary on stdout.
# With --test it then runs paddock-cli's Linux attack suites (tests/linux_*.rs) against that
# binary: the suites run the `paddock` they were compiled against (target/debug/paddock), so
# they run in a private mount namespace (needs root) where the static binary is bound over that
# path; nobody else sharing the target directory sees the swap.
# Usage: scripts/build-release.sh [--test]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
triple=$(rustc -vV | awk '/^host:/ {print $2}')
case "$triple" in
  *-linux-gnu) ;;
  *) echo "build-release.sh builds the static Linux binary; this host is $triple" >&2; exit 1 ;;
esac
target_dir="$root/target/static"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir" \
  cargo build --release -p paddock-cli --target "$triple" --manifest-path "$root/Cargo.toml" \
  2>"$log" || { cat "$log" >&2; exit 1; }
# glibc's linker warning when a static binary calls into NSS (getpwnam, getaddrinfo, ...): such
# a binary would need the very shared libraries static linking is meant to leave out.
if grep -q "statically linked applications requires at runtime" "$log"; then
  cat "$log" >&2
  echo "the static binary calls into NSS; it would not work without glibc's shared libraries" >&2
  exit 1
fi
bin="$target_dir/$triple/release/paddock"
file -L "$bin" | grep -q "static" || { echo "$bin is not statically linked" >&2; exit 1; }
echo "$bin"
[ "${1:-}" = --test ] || exit 0

suites=$(cargo test -p paddock-cli --no-run --message-format=json --manifest-path "$root/Cargo.toml" \
  2>/dev/null | python3 -c "import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get('reason') == 'compiler-artifact' and m['target']['name'].startswith('linux_') \\
            and m.get('executable'):
        print(m['executable'])")
debug_bin="$root/target/debug/paddock"
[ -n "$suites" ] && [ -x "$debug_bin" ] || { echo "no Linux suites or no $debug_bin" >&2; exit 1; }
export STATIC_BIN="$bin" DEBUG_BIN="$debug_bin" SUITES="$suites"
unshare --mount --propagation private -- bash -euo pipefail -c '
  mount --bind "$STATIC_BIN" "$DEBUG_BIN"
  file -L "$DEBUG_BIN" | grep -q static-pie || { echo "the bind mount did not take" >&2; exit 1; }
  for s in $SUITES; do echo "== $(basename "$s") against $STATIC_BIN" >&2; "$s" -q >&2; done'
echo "the Linux attack suites passed against $bin" >&2
