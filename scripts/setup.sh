#!/usr/bin/env bash
# Installs what `make demo` and `make test` need, and says what it does.
# Usage: scripts/setup.sh demo|test
set -euo pipefail
what=${1:-test}
say() { printf 'setup: %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
GOBIN=$(go env GOBIN); [ -n "$GOBIN" ] || GOBIN="$(go env GOPATH)/bin"

pkgs=()
if ! /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1; then
  say "/usr/bin/python3 cannot import torch: installing Debian's python3-torch and python3-numpy"
  pkgs+=(python3-torch python3-numpy)
fi
if ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  say "installing Debian's OpenBLAS (libopenblas0-pthread): torch is ~20x slower on the reference BLAS"
  pkgs+=(libopenblas0-pthread)
fi
if [ "$what" = test ] && ! command -v docker-compose >/dev/null 2>&1; then
  say "installing Debian's docker-compose (v1), used only to validate docker-compose.yml"
  pkgs+=(docker-compose)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${pkgs[@]}"
fi
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
say "BLAS used by torch: ${blas:-unknown}"
case "$blas" in *openblas*) ;; *) say "WARNING: torch is not using OpenBLAS; training will be slow";; esac

if [ -z "${TEMPORAL_CLI:-}" ] && ! command -v temporal >/dev/null 2>&1 && [ ! -x "$GOBIN/temporal" ]; then
  say "building the Temporal CLI v1.5.1 (server 1.29.1, UI 2.42.1) from the Go module proxy into $GOBIN (about 3 minutes)"
  go install github.com/temporalio/cli/cmd/temporal@v1.5.1
fi
if [ "$what" = test ] && [ -z "${VERSITYGW:-}" ] && ! command -v versitygw >/dev/null 2>&1 && [ ! -x "$GOBIN/versitygw" ]; then
  say "building versitygw v1.8.0 (an S3-compatible server for the S3 tests) from the Go module proxy (about 1 minute)"
  go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
hfpeer="$(dirname "$0")/../tokenize/hfpeer"
if [ "$what" = test ] && [ ! -f "$hfpeer/node_modules/tokenizers/package.json" ]; then
  say "installing HuggingFace tokenizers 0.23.2 from npm into tokenize/hfpeer/node_modules (the tokenizer parity peer; its prebuilt Node binaries ship inside the package, ~64 MB)"
  npm ci --prefix "$hfpeer" --no-audit --no-fund
fi
say "torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)"
say "Temporal CLI: ${TEMPORAL_CLI:-$(command -v temporal || echo "$GOBIN/temporal")}"
say "ready for make $what"
