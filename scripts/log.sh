# Progress and logged steps of the bootstrap scripts (sourced). The script sets LOG_TAG first.
# shellcheck shell=bash

step() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
fail() { printf '[%s] error: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }

# run_logged_to LOG WHAT CMD...: CMD's output appended to LOG, so that progress stays readable;
# on failure the log's tail and an error naming the step.
run_logged_to() {
  local log=$1 what=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  if ! "$@" >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    fail "step '$what' failed (full log: $log)"
  fi
}
