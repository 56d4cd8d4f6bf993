#!/usr/bin/env bash
# Compatibility check of the packed package against the newest major versions of its peers.
#
#   npm run compat            (or: bash compat/run.sh)
#
# Builds dist/, packs it with `npm pack`, installs the tarball into a fresh temp directory (never into
# this repository) together with NestJS 12 (+ platform-express), @nestjs/typeorm 12, TypeORM 1.x, better-sqlite3 12, pg,
# mysql2 and @openai/agents-core 0.20, then runs compat/smoke.mjs there with plain Node (no Jest).
# Needs the npm registry (for the install) and, for the server dialects, the databases below.
#
# Environment (all optional):
#   COMPAT_DIR              install here instead of a new mktemp directory (it is emptied first)
#   COMPAT_KEEP=1           keep the temp directory afterwards (its path is printed)
#   COMPAT_NEST / COMPAT_NEST_TYPEORM / COMPAT_TYPEORM / COMPAT_BETTER_SQLITE3 / COMPAT_AGENTS_CORE
#                           version ranges to install (defaults: ^12, ^12, ^1, ^12, ~0.20.0)
#   SESSION_MEMORY_TEST_POSTGRES_URL  default postgres://postgres@127.0.0.1:5432/test
#   SESSION_MEMORY_TEST_MYSQL_URL     default mysql://root@127.0.0.1:3306/test
#   COMPAT_SKIP=postgres,mysql        dialects to leave out (sqlite always runs)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NEST="${COMPAT_NEST:-^12}"
NEST_TYPEORM="${COMPAT_NEST_TYPEORM:-^12}"
TYPEORM="${COMPAT_TYPEORM:-^1}"
BETTER_SQLITE3="${COMPAT_BETTER_SQLITE3:-^12}"
AGENTS_CORE="${COMPAT_AGENTS_CORE:-~0.20.0}"

if [ -n "${COMPAT_DIR:-}" ]; then
  WORK="$COMPAT_DIR"
  rm -rf "$WORK" && mkdir -p "$WORK"
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/nsm-compat-XXXXXX")"
fi
case "$WORK" in "$ROOT"|"$ROOT"/*) echo "compat: COMPAT_DIR must be outside the repository" >&2; exit 2;; esac
cleanup() { if [ "${COMPAT_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "compat: kept $WORK"; fi; }
trap cleanup EXIT

echo "compat: node $(node -v), npm $(npm -v), work dir $WORK"
(cd "$ROOT" && npm run --silent build)
TARBALL="$(cd "$ROOT" && npm pack --silent --pack-destination "$WORK" | tail -n 1)"
echo "compat: packed $TARBALL"

# npm 11 runs no install script unless allowed: better-sqlite3 needs its own (prebuilt binary / build).
cat > "$WORK/package.json" <<JSON
{
  "name": "nsm-compat-smoke",
  "private": true,
  "version": "0.0.0",
  "type": "module",
  "dependencies": {
    "nestjs-session-memory": "file:./$TARBALL",
    "@nestjs/common": "$NEST",
    "@nestjs/core": "$NEST",
    "@nestjs/platform-express": "$NEST",
    "@nestjs/typeorm": "$NEST_TYPEORM",
    "typeorm": "$TYPEORM",
    "better-sqlite3": "$BETTER_SQLITE3",
    "pg": "^8",
    "mysql2": "^3",
    "reflect-metadata": "^0.2",
    "rxjs": "^7",
    "@openai/agents-core": "$AGENTS_CORE"
  },
  "allowScripts": {
    "better-sqlite3": true
  }
}
JSON
cp "$ROOT/compat/smoke.mjs" "$WORK/smoke.mjs"

cd "$WORK"
npm install --no-audit --no-fund --loglevel=error
echo "compat: installed"
npm ls --depth=0 2>/dev/null | sed 's/^/  /' || true
OPENAI_AGENTS_DISABLE_TRACING=1 node smoke.mjs
