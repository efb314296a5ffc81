# Sourced by the ci/ scripts: running a command as root whether the caller is root
# (a container or CI runner without sudo) or a user who has sudo.
#
#   as_root CMD ARGS...   runs CMD as root: directly when already root, else with sudo;
#                         without either, says what to do and exits 1.
#   rerun_as_root "$@"    re-executes the calling script as root the same way, keeping
#                         PATH (and rustup's and cargo's homes) so cargo is still found.

_root_missing() {
  echo "${0##*/}: needs root: run it as root, or install sudo (apt-get install sudo) and run it again" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    _root_missing
  fi
}

rerun_as_root() {
  [ "$(id -u)" = 0 ] && return 0
  command -v sudo >/dev/null 2>&1 || _root_missing
  exec sudo env PATH="$PATH" \
    CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
    ${CARGO_TARGET_DIR:+CARGO_TARGET_DIR="$CARGO_TARGET_DIR"} \
    bash "$0" "$@"
}
