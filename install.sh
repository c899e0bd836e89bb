#!/usr/bin/env bash
# Build paddock's release binaries, install them, and make a repository ready.
#
#   ./install.sh                 build, install to ~/.local/bin, init the repo you are in (if any)
#   ./install.sh --repo DIR      ... and init DIR
#   PREFIX=/usr/local ./install.sh
#   ./install.sh --no-repo       only build and install
#   ./install.sh --demo          build, install, then run `paddock demo`
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
bindir="$prefix/bin"
repo=""
init_repo=1
demo=0

while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo="${2:?--repo needs a directory}"; shift 2 ;;
    --repo=*) repo="${1#--repo=}"; shift ;;
    --no-repo) init_repo=0; shift ;;
    --demo) demo=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
command -v cargo >/dev/null 2>&1 || missing+=("cargo (the Rust toolchain: https://rustup.rs)")
command -v git >/dev/null 2>&1 || missing+=("git")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'install.sh: missing: %s\n' "${missing[@]}" >&2
  exit 2
fi

echo "building paddock (release)..."
cargo build --release --locked --manifest-path "$here/Cargo.toml" -p paddock
mkdir -p "$bindir"
for bin in paddock; do
  install -m 755 "$here/target/release/$bin" "$bindir/$bin"
  echo "installed $bindir/$bin"
done
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) echo "note: $bindir is not on your PATH; add it:  export PATH=\"$bindir:\$PATH\"" ;;
esac

if [ "$init_repo" = 1 ]; then
  if [ -z "$repo" ] && git rev-parse --show-toplevel >/dev/null 2>&1; then
    repo="$(git rev-parse --show-toplevel)"
    [ "$repo" = "$here" ] && repo=""   # not paddock's own checkout
  fi
  if [ -n "$repo" ]; then
    "$bindir/paddock" init --repo "$repo"
  fi
fi

if [ "$demo" = 1 ]; then
  "$bindir/paddock" demo
fi
