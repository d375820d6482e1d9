#!/usr/bin/env bash
# Print the path of a Chromium that Playwright can drive (its `executable_path`), getting one if needed.
# Playwright's own browser download is not used: the browser comes from Debian's `chromium` package.
#
#   1. $MCPG_CHROMIUM, if set;
#   2. a system Chromium (Debian's /usr/lib/chromium/chromium, or chromium / chromium-browser on PATH);
#   3. the copy this script unpacked before, in the cache (MCPG_BROWSER_CACHE, default
#      ~/.cache/mcp-guard/chromium);
#   4. otherwise Debian's `chromium` and `chromium-common` packages, and the shared libraries they need that
#      this machine lacks, fetched with `apt-get download` and unpacked with `dpkg -x` into the cache: no
#      root, nothing installed system-wide. The printed path is then a small launcher that sets
#      LD_LIBRARY_PATH for those libraries.
#
# Exits non-zero, saying why on stderr, when no Chromium can be had (no apt-get, no package lists, no
# `chromium` candidate, or a download failed).
set -euo pipefail

say() { echo "browser.sh: $*" >&2; }

if [ -n "${MCPG_CHROMIUM:-}" ]; then
    [ -x "$MCPG_CHROMIUM" ] || { say "MCPG_CHROMIUM=$MCPG_CHROMIUM is not executable"; exit 1; }
    echo "$MCPG_CHROMIUM"; exit 0
fi
if [ -x /usr/lib/chromium/chromium ]; then echo /usr/lib/chromium/chromium; exit 0; fi
for name in chromium chromium-browser; do
    if found=$(command -v "$name" 2>/dev/null); then echo "$found"; exit 0; fi
done

cache="${MCPG_BROWSER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-guard/chromium}"
root="$cache/root"
launcher="$cache/chromium"
if [ -x "$launcher" ] && "$launcher" --headless --no-sandbox --version >/dev/null 2>&1; then
    echo "$launcher"; exit 0
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null || { say "needs apt-get and dpkg (Debian)"; exit 1; }
candidate() { apt-cache policy chromium 2>/dev/null | awk '$1 == "Candidate:" {print $2}'; }
if [ "$(candidate)" = "" ] || [ "$(candidate)" = "(none)" ]; then
    if [ "$(id -u)" = 0 ]; then
        say "no chromium candidate in the package lists: running apt-get update"
        apt-get update -qq >&2
    fi
    case "$(candidate)" in
        "" | "(none)") say "Debian's package lists have no 'chromium' (run apt-get update as root once)"; exit 1 ;;
    esac
fi

mkdir -p "$cache/debs" "$root"
exec 9>"$cache/.lock"
flock 9  # one download at a time (two test runs starting together)
if [ -x "$launcher" ] && "$launcher" --headless --no-sandbox --version >/dev/null 2>&1; then
    echo "$launcher"; exit 0  # the other run got it meanwhile
fi
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }
# The first choice of each hard dependency (`|Depends:` lines are alternatives to the line before them).
depends_of() {
    apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$@" \
        2>/dev/null | awk '$1 == "Depends:" && $2 !~ /^</ {print $2}' | sort -u
}
fetch() {  # download and unpack packages not yet in the cache
    local wanted=() package
    for package in "$@"; do
        [ -e "$cache/debs/$package.done" ] || wanted+=("$package")
    done
    [ ${#wanted[@]} -gt 0 ] || return 0
    say "downloading ${wanted[*]}"
    (cd "$cache/debs" && apt-get download -qq "${wanted[@]}" 2>&1 | grep -v 'Download is performed unsandboxed' >&2 || true)
    for package in "${wanted[@]}"; do
        deb=$(ls "$cache/debs/${package}"_*.deb 2>/dev/null | head -n 1)
        [ -n "$deb" ] || { say "apt-get download $package failed"; exit 1; }
        dpkg -x "$deb" "$root"
        rm -f "$deb"  # unpacked: the archive is no longer needed
        touch "$cache/debs/$package.done"
    done
}

triplet="$(uname -m)-linux-gnu"
libs="$root/usr/lib/chromium:$root/usr/lib/$triplet:$root/usr/lib/$triplet/pulseaudio:$root/lib/$triplet"
missing() { LD_LIBRARY_PATH="$libs" ldd "$root/usr/lib/chromium/chromium" 2>/dev/null | grep -c 'not found' || true; }

fetch chromium chromium-common
round=0
todo=$(depends_of chromium)
while [ "$(missing)" != 0 ]; do
    round=$((round + 1))
    [ $round -le 5 ] || { say "libraries still missing after 5 rounds:"; LD_LIBRARY_PATH="$libs" ldd "$root/usr/lib/chromium/chromium" | grep 'not found' >&2; exit 1; }
    needed=()
    for package in $todo; do
        installed "$package" || [ -e "$cache/debs/$package.done" ] || needed+=("$package")
    done
    [ ${#needed[@]} -gt 0 ] || { say "missing libraries but no uninstalled dependency left to fetch"; exit 1; }
    fetch "${needed[@]}"
    todo=$(depends_of "${needed[@]}")
done

cat > "$launcher" <<EOF
#!/bin/sh
# Debian's Chromium unpacked by scripts/browser.sh, with the libraries it brought along.
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "$root/usr/lib/chromium/chromium" "\$@"
EOF
chmod +x "$launcher"
"$launcher" --headless --no-sandbox --version >/dev/null 2>&1 || { say "the unpacked Chromium does not start"; exit 1; }
echo "$launcher"
