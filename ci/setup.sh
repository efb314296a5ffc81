#!/usr/bin/env bash
# Installs what routelab needs on Debian or Ubuntu, skipping what is already there:
# BIRD 2 (routers), iproute2, iputils, traceroute, nftables, util-linux, and BIRD 1.6.8
# unpacked into .tools/bird1 (mock calico-node; it conflicts with bird2 as a package).
set -euo pipefail
cd "$(dirname "$0")/.."

source ci/lib/root.sh

# command -> Debian package that provides it
declare -A wanted=(
  [bird]=bird2 [birdc]=bird2 [ip]=iproute2 [ping]=iputils-ping
  [traceroute]=traceroute [nft]=nftables [setpriv]=util-linux
  [xmllint]=libxml2-utils
)
missing=()
for cmd in "${!wanted[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
    missing+=("${wanted[$cmd]}")
  fi
done
# A `bird` that is not BIRD 2 (e.g. Debian's bird 1.6 package) must be replaced.
if [ -x /usr/sbin/bird ] && ! /usr/sbin/bird --version 2>&1 | grep -q 'BIRD version 2'; then
  missing+=(bird2)
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "ci/setup.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Lab daemons run as this user, without root's file access (see harness/lab/src/daemon/user.rs);
# without it they run as nobody.
if ! getent passwd routelab >/dev/null; then
  echo "ci/setup.sh: creating the system user routelab for lab daemons"
  as_root useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin routelab
fi

if [ -f ci/install-bird1.sh ]; then
  bash ci/install-bird1.sh
fi
