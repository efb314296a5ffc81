#!/usr/bin/env bash
# Unpacks BIRD 1.6 (Debian package `bird`) into <repo>/.tools/bird1/ without installing it:
# the `bird` and `bird2` packages conflict, and routelab needs both. The mock calico-node
# and the Calico conformance test run .tools/bird1/usr/sbin/bird (and bird6).
#
# Idempotent: does nothing when the binaries are already there.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo/.tools/bird1"
source "$repo/ci/lib/root.sh"

if [[ -x "$dest/usr/sbin/bird" && -x "$dest/usr/sbin/bird6" ]]; then
    echo "BIRD 1 already unpacked in $dest"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# apt-get download writes into the current directory. Refresh the package lists only
# when the first attempt fails (a fresh machine may not have them yet).
if ! (cd "$work" && apt-get download bird >/dev/null 2>&1); then
    as_root apt-get update -qq
    (cd "$work" && apt-get download bird)
fi

deb="$(ls "$work"/bird_*.deb)"
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"

"$dest/usr/sbin/bird" --version 2>&1 | head -n1
echo "BIRD 1 unpacked into $dest"
