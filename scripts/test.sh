#!/usr/bin/env bash
# Runs every package's tests one package at a time (-p 1), so torchrun and
# the Temporal dev servers never contend for the 2 cores, and logs each
# stage's wall time to .run/test-times.log.
set -euo pipefail
mkdir -p .run
log=.run/test-times.log
: > "$log"
stage() {
  local name=$1; shift
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  echo "stage $name: $((SECONDS - t0))s (rc $rc)" | tee -a "$log"
  return $rc
}
stage setup scripts/setup.sh test
stage build make --no-print-directory build
stage vet go vet ./...
stage go-test go test -p 1 -timeout 50m -count=1 ./...
echo "stage times:"; cat "$log"
