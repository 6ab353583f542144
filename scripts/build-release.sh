#!/usr/bin/env bash
# Builds Paddock's distribution binary for Linux: release profile, statically linked against
# glibc (static-pie), so that the start of Paddock (the supervisor; the init too when it is
# executed rather than forked) pays for no dynamic loader (measured: about 0.3 ms each).
# An explicit --target keeps the flag off build scripts and proc-macros, which cannot be static.
# Paddock resolves no user names (HOME is read from the environment); the one NSS function it
# calls is getaddrinfo (the allow-list proxy's host lookups), which a static Paddock keeps to
# glibc's built-in `files` and `dns` sources at start (paddock_linux::sys::built_in_host_lookups),
# so that no NSS module of another glibc is ever loaded. This script fails if the binary calls
# any other function that needs glibc's shared libraries at run time.
# The ordinary `cargo build --release` binary is static-pie too where a static glibc is at hand
# (crates/paddock-cli/build.rs); the test the_linux_binary_is_static_pie_or_at_least_free_of_libgcc_s
# holds it to the same list.
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
bin="$target_dir/$triple/release/paddock"
# glibc marks each function that needs its shared libraries at run time in a static binary
# (NSS: getpwnam, getaddrinfo, ...; iconv; dlopen) with a `.gnu.warning.NAME` section, whose
# text GNU ld prints as a warning and rust-lld does not: read the sections instead. Allowed:
# getaddrinfo and what it brings, and getpwuid_r (the standard library's home_dir), whose
# databases a static Paddock keeps to glibc's built-in sources (see above).
allowed=" getaddrinfo gethostbyname2_r getservbyname_r dlopen dlmopen getpwuid_r "
for w in $(readelf -SW "$bin" | grep -o '\.gnu\.warning\.[A-Za-z0-9_]*' | sed 's/^\.gnu\.warning\.//'); do
  case "$allowed" in
    *" $w "*) ;;
    *) echo "the static binary calls $w, which needs glibc's shared libraries at run time" >&2
       exit 1 ;;
  esac
done
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
