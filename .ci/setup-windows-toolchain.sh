#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine (as root) to build for x86_64-pc-windows-gnu and run the test
# binaries under Wine: rust target, mingw-w64, wine64, a Wine prefix and the bcryptprimitives.dll
# shim; and bubblewrap and hyperfine, for the Linux benchmark's comparison. Idempotent: a second
# run changes nothing and takes seconds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=.ci/wine-env.sh
. "$here/wine-env.sh"

log() { printf 'setup-windows-toolchain: %s\n' "$*"; }
die() { printf 'setup-windows-toolchain: ERROR: %s\n' "$*" >&2; exit 1; }

install_rust_target() {
    command -v rustup >/dev/null 2>&1 || die "rustup not found; install the Rust toolchain first"
    if rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
        log "rust target x86_64-pc-windows-gnu already installed"
    else
        rustup target add x86_64-pc-windows-gnu
    fi
}

install_packages() {
    local wanted=(gcc-mingw-w64-x86-64 wine64 bubblewrap hyperfine) missing=() pkg
    for pkg in "${wanted[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "packages already installed: ${wanted[*]}"
        return
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root; rerun as root"
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

create_prefix() {
    local loader="$1"
    if [ -f "$WINEPREFIX/system.reg" ]; then
        log "Wine prefix $WINEPREFIX already exists"
        return
    fi
    log "creating Wine prefix $WINEPREFIX (takes about a minute)"
    mkdir -p "$WINEPREFIX"
    WINELOADER="$loader" timeout 600 "$loader" wineboot.exe -i </dev/null \
        || die "wineboot -i failed in $WINEPREFIX; remove it and rerun"
    wait_for_wineserver "$loader"
    [ -f "$WINEPREFIX/system.reg" ] || die "wineboot left no registry in $WINEPREFIX"
}

# wineboot returns before wineserver has written the registry; wait for it to exit.
wait_for_wineserver() {
    local server
    server="$(dirname "$1")/wineserver"
    if [ -x "$server" ]; then
        timeout 120 "$server" -w || die "wineserver did not shut down within 120 s"
    elif command -v wineserver >/dev/null 2>&1; then
        timeout 120 wineserver -w || die "wineserver did not shut down within 120 s"
    fi
}

# Wine 8 has no bcryptprimitives.dll, which Rust's std imports ProcessPrng from. A Wine that has
# it leaves a builtin placeholder in system32: keep that one.
install_prng_shim() {
    local target="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" built
    if [ -f "$target" ] && grep -q "Wine placeholder DLL" "$target"; then
        log "this Wine provides bcryptprimitives.dll itself; no shim needed"
        return
    fi
    command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || die "x86_64-w64-mingw32-gcc not found"
    built="$(mktemp -d)"
    x86_64-w64-mingw32-gcc -shared -O2 -Wall -Werror -s -static-libgcc -Wl,--no-insert-timestamp,--disable-auto-image-base \
        -o "$built/bcryptprimitives.dll" "$here/shims/bcryptprimitives.c" -ladvapi32
    if [ -f "$target" ] && cmp -s "$built/bcryptprimitives.dll" "$target"; then
        log "bcryptprimitives.dll shim up to date"
    else
        install -m 0644 "$built/bcryptprimitives.dll" "$target"
        log "installed bcryptprimitives.dll shim into $target"
    fi
    rm -rf "$built"
}

main() {
    install_rust_target
    install_packages
    local loader
    loader="$(paddock_find_wine_loader)"
    [ -n "$loader" ] || die "no Wine loader found after installing wine64"
    log "Wine loader: $loader ($("$loader" --version 2>/dev/null || echo unknown version))"
    create_prefix "$loader"
    install_prng_shim
    touch "$WINEPREFIX/.paddock-ready"
    log "ready: cargo test --target x86_64-pc-windows-gnu runs under Wine in $WINEPREFIX"
}

main "$@"
