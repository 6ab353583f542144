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
exec "$loader" "$@"
