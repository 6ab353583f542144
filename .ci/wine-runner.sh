#!/usr/bin/env bash
# Cargo runner for x86_64-pc-windows-gnu (see .cargo/config.toml): runs a Windows binary under
# Wine in the prefix that .ci/setup-windows-toolchain.sh prepared, and exits with its exit code.
# Refuses to run (exit 125) when Wine or the prepared prefix is missing, rather than half-working.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=.ci/wine-env.sh
. "$here/wine-env.sh"

loader="$(paddock_find_wine_loader)"
if [ -z "$loader" ]; then
    echo "wine-runner: no Wine loader found; run: bash .ci/setup-windows-toolchain.sh" >&2
    exit 125
fi
if [ ! -f "$WINEPREFIX/.paddock-ready" ]; then
    echo "wine-runner: Wine prefix $WINEPREFIX is not prepared; run: bash .ci/setup-windows-toolchain.sh" >&2
    exit 125
fi
export WINELOADER="$loader"
# A binary Wine fails to start prints nothing and exits non-zero. Seen once in about twenty CI
# runs (2026-12-07): `paddock_proxy`'s unit tests exited 1 before the test harness printed its
# first line, next to a "wine client error: sendmsg" from Wine itself, and passed 6 of 6 times
# run again. Such a start is tried once more, and says so on stderr. A binary that printed
# anything keeps its exit code: no test that ran and failed is ever retried.
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
"$loader" "$@" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ] && [ ! -s "$out" ]; then
    echo "wine-runner: $1 exited $rc before printing anything (Wine did not start it); running it once more" >&2
    "$loader" "$@"
    exit $?
fi
exit "$rc"
