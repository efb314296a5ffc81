#!/usr/bin/env bash
# Proves snapshots carry no noise: takes N snapshots (default 10) of each scenario, one
# after another, and diffs every pair of them; any difference is printed and fails.
#   sudo ci/snapshot-noise.sh [N] [SCENARIO.yaml...]     (default: scenarios/*.yaml)
# ROUTELAB names the binary (default: target/release/routelab, else target/debug/);
# KEEP=DIR keeps the snapshots and their logs there (default: a temporary directory).
set -u
cd "$(dirname "$0")/.."
n="${1:-10}"
shift || true
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(scenarios/*.yaml)
bin="${ROUTELAB:-}"
if [ -z "$bin" ]; then
  bin=target/release/routelab
  [ -x "$bin" ] || bin=target/debug/routelab
fi
if [ -n "${KEEP:-}" ]; then
  out="$KEEP"
  mkdir -p "$out"
else
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
failed=0
for s in "${scenarios[@]}"; do
  name="$(basename "$s" .yaml)"
  start=$(date +%s)
  taken=0
  for i in $(seq 1 "$n"); do
    if "$bin" snapshot "$s" -o "$out/$name-$i.json" > "$out/$name-$i.log" 2>&1 ||
       [ -s "$out/$name-$i.json" ]; then
      taken=$((taken + 1))
    else
      echo "$name: snapshot $i failed:"; tail -5 "$out/$name-$i.log"; failed=1
    fi
  done
  diffs=0
  for i in $(seq 1 "$taken"); do
    for j in $(seq $((i + 1)) "$taken"); do
      if ! "$bin" diff "$out/$name-$i.json" "$out/$name-$j.json" > "$out/d.txt"; then
        diffs=$((diffs + 1))
        [ "$diffs" -le 3 ] && sed 's/^/    /' "$out/d.txt"
      fi
    done
  done
  echo "$name: $taken snapshots in $(( $(date +%s) - start )) s, $diffs of $((taken * (taken - 1) / 2)) pairs differ"
  [ "$diffs" -eq 0 ] || failed=1
done
exit $failed
