#!/usr/bin/env bash
# Packaging check of the built package, as an application installs it:
#
#   bash compat/packaging.sh          (.ci/run runs it on the primary Node line)
#
# Builds dist/, packs it with `npm pack`, installs the tarball once into a fresh temp directory (never into
# this repository) with the peers the package is developed against (NestJS 11, TypeORM 0.3, pg; `npm run compat`
# covers NestJS 12 / TypeORM 1), then, in two fresh apps under that directory (they share its node_modules):
#
#   esm-app  "type": "module":   node main.js   (import { SessionMemoryModule } from 'nestjs-session-memory')
#   cjs-app  "type": "commonjs": node main.js   (require('nestjs-session-memory'))
#
# Each boots a Nest application context with SessionMemoryModule.forRoot on PostgreSQL, writes and reads a
# conversation, and closes. Then TypeScript (tsc --noEmit, skipLibCheck off, so the package's own .d.ts files
# are checked too) compiles a typed file in each app under moduleResolution node16, nodenext and bundler;
# the file holds `@ts-expect-error` misuses, so types that resolved to `any` fail the check.
# Needs the npm registry and PostgreSQL (SESSION_MEMORY_TEST_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/test). PACKAGING_KEEP=1 keeps the temp directory.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
POSTGRES_URL="${SESSION_MEMORY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nsm-packaging-XXXXXX")"
cleanup() { if [ "${PACKAGING_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "packaging: kept $WORK"; fi; }
trap cleanup EXIT

echo "packaging: node $(node -v), npm $(npm -v), work dir $WORK"
(cd "$ROOT" && npm run --silent build)
TARBALL="$(cd "$ROOT" && npm pack --silent --pack-destination "$WORK" | tail -n 1)"
echo "packaging: packed $TARBALL"

# The peers' versions: the ones this repository is developed and tested with (its devDependencies).
dev() { node -p "require('$ROOT/package.json').devDependencies['$1']"; }
cat > "$WORK/package.json" <<JSON
{
  "name": "nsm-packaging-check",
  "private": true,
  "version": "0.0.0",
  "dependencies": {
    "nestjs-session-memory": "file:./$TARBALL",
    "@nestjs/common": "$(dev @nestjs/common)",
    "@nestjs/core": "$(dev @nestjs/core)",
    "typeorm": "$(dev typeorm)",
    "pg": "$(dev pg)",
    "reflect-metadata": "$(dev reflect-metadata)",
    "rxjs": "$(dev rxjs)",
    "@openai/agents-core": "$(dev @openai/agents-core)",
    "typescript": "$(dev typescript)",
    "@types/node": "$(dev @types/node)"
  }
}
JSON
(cd "$WORK" && npm install --no-audit --no-fund --loglevel=error)
echo "packaging: installed nestjs-session-memory@$(node -p "require('$WORK/node_modules/nestjs-session-memory/package.json').version")," \
  "@nestjs/core@$(node -p "require('$WORK/node_modules/@nestjs/core/package.json').version")," \
  "typeorm@$(node -p "require('$WORK/node_modules/typeorm/package.json').version")," \
  "typescript@$(node -p "require('$WORK/node_modules/typescript/package.json').version")"

# The runtime body shared by both apps: boot, write, read, close. $1 is how the app imports the package.
app_body() {
  cat <<JS
const POSTGRES_URL = process.env.POSTGRES_URL;
const suffix = process.pid.toString(36) + '_' + Math.random().toString(36).slice(2, 8);
const tables = { sessions: 'pkg_s_' + suffix, messages: 'pkg_m_' + suffix };
class AppModule {}
Module({ imports: [SessionMemoryModule.forRoot({ url: POSTGRES_URL, tables, createTables: true })] })(AppModule);
const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
const memory = app.get(SessionMemoryService);
try {
  const session = memory.session('packaging-' + suffix);
  await session.addItems([{ role: 'user', content: 'hello from ' + KIND }]);
  const items = await session.getItems();
  if (items.length !== 1 || items[0].content !== 'hello from ' + KIND) throw new Error('unexpected items: ' + JSON.stringify(items));
  await memory.deleteSession('packaging-' + suffix);
  await memory.dataSource.query('DROP TABLE IF EXISTS "' + tables.messages + '", "' + tables.sessions + '" CASCADE');
} finally {
  await app.close();
}
if (!(new SessionMemoryConfigurationError('x') instanceof Error)) throw new Error('exported error class is not an Error');
console.log('packaging: ok   ' + KIND + ' app (' + process.version + '): boots SessionMemoryModule.forRoot on PostgreSQL, addItems/getItems, close');
JS
}

mkdir -p "$WORK/esm-app" "$WORK/cjs-app"
echo '{ "name": "esm-app", "private": true, "type": "module" }' > "$WORK/esm-app/package.json"
echo '{ "name": "cjs-app", "private": true, "type": "commonjs" }' > "$WORK/cjs-app/package.json"
{
  echo "import 'reflect-metadata';"
  echo "import { Module } from '@nestjs/common';"
  echo "import { NestFactory } from '@nestjs/core';"
  echo "import { SessionMemoryModule, SessionMemoryService, SessionMemoryConfigurationError } from 'nestjs-session-memory';"
  echo "const KIND = 'ESM';"
  app_body
} > "$WORK/esm-app/main.js"
{
  echo "require('reflect-metadata');"
  echo "const { Module } = require('@nestjs/common');"
  echo "const { NestFactory } = require('@nestjs/core');"
  echo "const { SessionMemoryModule, SessionMemoryService, SessionMemoryConfigurationError } = require('nestjs-session-memory');"
  echo "const KIND = 'CommonJS';"
  echo "(async () => {"
  app_body
  echo "})().catch((err) => { console.error(err); process.exit(1); });"
} > "$WORK/cjs-app/main.js"

# The typed file: real uses plus misuses that only fail if the package's types resolved.
TYPED=$(cat <<'TS'
import { Injectable } from '@nestjs/common';
import type { Session } from '@openai/agents-core';
import {
  ConversationSession,
  InjectSessionMemory,
  SessionMemoryModule,
  SessionMemoryService,
  SessionMemoryConfigurationError,
  type SessionMemoryModuleOptions,
} from 'nestjs-session-memory';

const options: SessionMemoryModuleOptions = { url: 'postgres://localhost/db', tables: { sessions: 's', messages: 'm' } };
export const dynamicModule = SessionMemoryModule.forRoot(options);

@Injectable()
export class ChatService {
  constructor(@InjectSessionMemory() private readonly memory: SessionMemoryService) {}
  session(id: string): Session {
    const session: ConversationSession = this.memory.session(id);
    return session;
  }
  async count(id: string): Promise<number> {
    return (await this.memory.session(id).getItems()).length;
  }
}

export const err: Error = new SessionMemoryConfigurationError('bad');
// @ts-expect-error the url is a string
SessionMemoryModule.forRoot({ url: 42 });
// @ts-expect-error no such method on the service
void ({} as SessionMemoryService).noSuchMethod();
TS
)
for app in esm-app cjs-app; do
  echo "$TYPED" > "$WORK/$app/typed.ts"
  for mode in node16 nodenext bundler; do
    case $mode in
      node16) module=node16 ;;
      nodenext) module=nodenext ;;
      bundler) module=esnext ;;
    esac
    cat > "$WORK/$app/tsconfig.$mode.json" <<JSON
{
  "compilerOptions": {
    "module": "$module",
    "moduleResolution": "$mode",
    "target": "es2022",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false,
    "experimentalDecorators": true,
    "emitDecoratorMetadata": true,
    "types": ["node"]
  },
  "files": ["typed.ts"]
}
JSON
    (cd "$WORK/$app" && "$WORK/node_modules/.bin/tsc" -p "tsconfig.$mode.json")
    echo "packaging: ok   $app types resolve under moduleResolution $mode (module $module)"
  done
done

(cd "$WORK/esm-app" && POSTGRES_URL="$POSTGRES_URL" OPENAI_AGENTS_DISABLE_TRACING=1 node main.js)
(cd "$WORK/cjs-app" && POSTGRES_URL="$POSTGRES_URL" OPENAI_AGENTS_DISABLE_TRACING=1 node main.js)
echo "packaging: all passed"
