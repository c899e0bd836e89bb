#!/usr/bin/env bash
# Build paddock's release binaries, install them, and make a repository ready.
#
#   ./install.sh                 build, install to ~/.local/bin, init the repo you are in (if any)
#   ./install.sh --repo DIR      ... and init DIR
#   PREFIX=/usr/local ./install.sh
#   ./install.sh --no-repo       only build and install
#   ./install.sh --demo          build, install, then run `paddock demo`
#   ./install.sh --debug         build the debug profile instead (quicker; used by the tests)
#   ./install.sh --uninstall [--repo DIR]
#                                remove paddock's hooks from the repo (restoring the hooks that
#                                were there before) and the installed binaries
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
bindir="$prefix/bin"
repo=""
init_repo=1
demo=0
uninstall=0
profile=release

while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo="${2:?--repo needs a directory}"; shift 2 ;;
    --repo=*) repo="${1#--repo=}"; shift ;;
    --no-repo) init_repo=0; shift ;;
    --demo) demo=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    --debug) profile=debug; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

bins=(paddock paddock-sh paddock-rec)

find_repo() {
  if [ -z "$repo" ] && git rev-parse --show-toplevel >/dev/null 2>&1; then
    repo="$(git rev-parse --show-toplevel)"
    [ "$repo" = "$here" ] && repo=""   # not paddock's own checkout
  fi
}

if [ "$uninstall" = 1 ]; then
  find_repo
  if [ -n "$repo" ]; then
    if [ -x "$bindir/paddock" ]; then
      "$bindir/paddock" init --uninstall --repo "$repo"
    elif command -v paddock >/dev/null 2>&1; then
      paddock init --uninstall --repo "$repo"
    else
      echo "install.sh: no paddock binary to remove the hooks from $repo with" >&2
      exit 2
    fi
  fi
  for bin in "${bins[@]}"; do
    if [ -e "$bindir/$bin" ]; then rm -f "$bindir/$bin" && echo "removed $bindir/$bin"; fi
  done
  exit 0
fi

missing=()
command -v cargo >/dev/null 2>&1 || missing+=("cargo (the Rust toolchain: https://rustup.rs)")
command -v git >/dev/null 2>&1 || missing+=("git")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'install.sh: missing: %s\n' "${missing[@]}" >&2
  exit 2
fi

echo "building paddock ($profile)..."
if [ "$profile" = release ]; then
  cargo build --release --locked --manifest-path "$here/Cargo.toml" -p paddock --bins
else
  cargo build --locked --manifest-path "$here/Cargo.toml" -p paddock --bins
fi
target_dir="${CARGO_TARGET_DIR:-$here/target}/$profile"
mkdir -p "$bindir"
for bin in "${bins[@]}"; do
  if [ -x "$target_dir/$bin" ]; then
    install -m 755 "$target_dir/$bin" "$bindir/$bin"
    echo "installed $bindir/$bin"
  fi
done
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) echo "note: $bindir is not on your PATH; add it:  export PATH=\"$bindir:\$PATH\"" ;;
esac

if [ "$init_repo" = 1 ]; then
  find_repo
  if [ -n "$repo" ]; then
    "$bindir/paddock" init --repo "$repo"
  fi
fi

if [ "$demo" = 1 ]; then
  "$bindir/paddock" demo
fi
