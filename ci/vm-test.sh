#!/usr/bin/env bash
# Runs the scenario tests inside a QEMU virtual machine booted from Debian's kernel, which
# has the modules this machine's kernel may lack (ipip, for scenarios/calico-ipip.yaml).
# Where the host kernel has everything, plain `cargo test --test scenarios` is enough; this
# is for machines like the CI runners, whose kernel has no IPIP, to run those scenarios
# instead of skipping them.
#
#   sudo ci/vm-test.sh              # every scenario, CI=true, in the VM
#   sudo ci/vm-test.sh calico-ipip  # a filter, as for cargo test
#   sudo ci/vm-test.sh --test impair [FILTER]
#                                   # another test target (output shown): the netem
#                                   # measurements of tests/impair.rs
#   sudo ci/vm-test.sh --snapshot-noise [N] [SCENARIO.yaml...]
#                                   # ci/snapshot-noise.sh in the VM (default: 10
#                                   # snapshots of scenarios/calico-ipip.yaml)
#
# The guest sees this machine's root file system read-only (virtme-ng), so it uses the
# toolchain, BIRD and the build from here; its writes to the checkout and /root go to an
# overlay and are gone when it stops. Nothing of the host's network is touched. KVM is used
# where the CPU offers it, otherwise emulation (TCG), several times slower.
#
# Installs, when missing: qemu-system-x86, busybox-static and Debian's kernel image
# (linux-image-amd64, into /boot and /lib/modules) with apt, virtme-ng with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [[ $(id -u) -ne 0 ]]; then
    echo "vm-test: needs root (the guest runs the scenarios as root)" >&2
    exit 3
fi

bash ci/setup.sh
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v busybox >/dev/null || missing+=(busybox-static)
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n $kernel ]] || missing+=(linux-image-amd64)
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    kernel=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)
fi
command -v vng >/dev/null || python3 -m pip install --quiet virtme-ng

target=scenarios
if [[ ${1:-} == --test ]]; then
    target=${2:?vm-test: --test needs a test target, such as impair}
    shift 2
fi
noise=()
if [[ ${1:-} == --snapshot-noise ]]; then
    shift
    noise=(10)
    if [[ ${1:-} =~ ^[0-9]+$ ]]; then noise=("$1"); shift; fi
    (($#)) || set -- scenarios/calico-ipip.yaml
    noise+=("$@")
fi

# Built here, so the guest only runs what is already compiled.
if ((${#noise[@]})); then
    cargo build --locked --release
    guest_command="ROUTELAB=target/release/routelab bash ci/snapshot-noise.sh ${noise[*]}"
else
    cargo test --locked --test "$target" --no-run
    # The scenarios harness streams its own reports; a libtest target needs --nocapture
    # for its printed figures.
    show=""
    [[ $target == scenarios ]] || show="--nocapture"
    guest_command="cargo test --locked --offline --test $target -- $show $*"
fi

# Not named routelab-*: older routelab versions swept such directories as stale labs.
out=$(mktemp -d /tmp/vm-test-XXXXXX)
trap 'rm -rf "$out"' EXIT
cat >"$out/guest.sh" <<EOF
#!/bin/bash
# The guest's console is not this script's output when that is a file (as in CI), so
# the guest writes a log of its own, printed after it stops.
exec >"$out/guest.log" 2>&1
export PATH=$HOME/.cargo/bin:\$PATH HOME=$HOME CI=true
cd "$repo"
modprobe ipip || echo "vm-test: the guest kernel cannot load ipip either" >&2
echo "guest kernel \$(uname -r); ipip \$([[ -d /sys/module/ipip ]] && echo loaded || echo missing)"
$guest_command
echo \$? >"$out/status"
EOF
chmod +x "$out/guest.sh"

vm() {
    vng --run "$kernel" --user root --memory 4G --cpus "$(nproc)" \
        --overlay-rwdir "$repo" --overlay-rwdir "$HOME" --rwdir "$out" "$@"
}
# KVM only where the CPU exposes virtualisation to this machine (nested KVM without it
# aborts or hangs at boot); otherwise emulation.
accel=()
if ! [[ -c /dev/kvm ]] || ! grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then
    echo "vm-test: no usable KVM here; emulating (slower)" >&2
    accel=(--disable-kvm)
fi
vm "${accel[@]}" --exec "$out/guest.sh" || true
# Nested KVM can be offered and still fail (QEMU aborts setting up the vCPU's MSRs).
if [[ ! -s $out/status && ${#accel[@]} -eq 0 ]]; then
    echo "vm-test: the guest did not run under KVM; emulating (slower)" >&2
    vm --disable-kvm --exec "$out/guest.sh" || true
fi
cat "$out/guest.log" 2>/dev/null || echo "vm-test: the guest left no log" >&2
status=$(cat "$out/status" 2>/dev/null || echo 3)
exit "$status"
