# shellcheck shell=bash
# Shared by setup-windows-toolchain.sh and wine-runner.sh (source it, do not run it): the Wine
# prefix and environment that Windows test binaries run in, and how to find the 64-bit loader.
# Guarantees a non-interactive Wine: no display, no debug chatter, no mono/gecko install prompts.

export WINEPREFIX="${WINEPREFIX:-$HOME/.wine-paddock}"
export WINEARCH=win64
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
export DISPLAY=

# Prints the path of the 64-bit Wine loader, or nothing when Wine is not installed.
# PADDOCK_WINE overrides the search.
paddock_find_wine_loader() {
    if [ -n "${PADDOCK_WINE:-}" ]; then
        printf '%s\n' "$PADDOCK_WINE"
        return
    fi
    local candidate
    if command -v dpkg >/dev/null 2>&1; then
        candidate="$(dpkg -L wine64 2>/dev/null | grep -E '/wine64$' | head -n 1 || true)"
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            printf '%s\n' "$candidate"
            return
        fi
    fi
    for candidate in wine64 wine; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return
        fi
    done
}
