// Compatibility smoke test of the packed nestjs-session-memory, run by compat/run.sh in a temp directory
// where the tarball is installed next to NestJS 12, @nestjs/typeorm 12, TypeORM 1.x, better-sqlite3,
// pg, mysql2 and @openai/agents-core 0.20. Plain Node (no Jest, no TypeScript): this is how an
// application loads the published package. The package is CommonJS; NestJS 12 is ESM-only, so the
// package's require('@nestjs/common') relies on Node's require(esm) (Node 20.19+, 22.12+).
//
// Prints one line per check and a closing "compat: N passed, N failed" line; exits 1 on any failure.
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Injectable, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { Agent, Usage, run } from '@openai/agents-core';
// Named imports from the CommonJS package: checks that Node's CJS lexer sees every export.
import {
  Conversation,
  ConversationSession,
  InjectConversationSession,
  InjectSessionMemory,
  SessionMemoryConfigurationError,
  SessionMemoryModule,
  SessionMemoryService,
  SessionStorageUnavailableError,
} from 'nestjs-session-memory';

const POSTGRES_URL = process.env.SESSION_MEMORY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.SESSION_MEMORY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const SKIP = new Set((process.env.COMPAT_SKIP ?? '').split(',').filter(Boolean));

// Nothing here may hang: a stuck pool is a failure, not a wait.
setTimeout(() => {
  console.error('compat: FAILED, timed out after 180 s');
  process.exit(1);
}, 180_000).unref();

const results = [];
async function check(title, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`  ok   ${title}`);
  } catch (err) {
    results.push(false);
    console.log(`  FAIL ${title}\n       ${(err && err.stack) || err}`);
  }
}

// Read from node_modules directly: some packages (typeorm 1) do not export ./package.json.
const version = (name) => JSON.parse(readFileSync(join(process.cwd(), 'node_modules', name, 'package.json'), 'utf8')).version;
const user = (content) => ({ role: 'user', content });
const texts = (items) => items.map((i) => (typeof i.content === 'string' ? i.content : i.content[0].text));
const suffix = `${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
const tmp = mkdtempSync(join(tmpdir(), 'nsm-smoke-'));

/** A local Model for the Agents SDK runner: answers "echo: <last user text>", no network. */
class EchoModel {
  async getResponse(request) {
    const input = typeof request.input === 'string' ? [user(request.input)] : request.input;
    const last = [...input].reverse().find((i) => i.role === 'user');
    const text = `echo: ${typeof last.content === 'string' ? last.content : last.content[0].text} (${input.length} in)`;
    return {
      usage: new Usage(),
      responseId: `resp_${Date.now()}`,
      output: [
        { type: 'message', id: `msg_${Date.now()}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] },
      ],
    };
  }
  // eslint-disable-next-line require-yield
  async *getStreamedResponse() {
    throw new Error('not used');
  }
}

/** A provider injecting the store the way application code does (decorators applied by hand: this is plain JS). */
class ChatService {
  constructor(memory) {
    this.memory = memory;
  }
}
Injectable()(ChatService);
InjectSessionMemory()(ChatService, undefined, 0);

/** Boots an application context with an app default DataSource (SQLite in memory) and the memory module on `url`. */
async function boot(memoryOptions, logger = ['error']) {
  class AppModule {}
  Module({
    imports: [TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:' }), SessionMemoryModule.forRoot(memoryOptions)],
    providers: [ChatService],
  })(AppModule);
  return NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
}

async function smokeDialect(label, url, expectedDialect) {
  const tables = { sessions: `compat_s_${suffix}`, messages: `compat_m_${suffix}` };
  const app = await boot({ url, tables, createTables: true });
  const { memory } = app.get(ChatService);
  const ds = memory.dataSource;
  try {
    await check(`[${label}] boots; @InjectSessionMemory() gives the singleton; dialect ${expectedDialect}`, async () => {
      assert.ok(memory instanceof SessionMemoryService);
      assert.equal(memory, app.get(SessionMemoryService));
      assert.equal(memory.dialect, expectedDialect);
      await memory.ping();
    });
    await check(`[${label}] TypeORM driver internals the store uses are there`, async () => {
      const driver = ds.driver;
      if (expectedDialect === 'postgres') {
        assert.equal(typeof driver.master?.connect, 'function', 'driver.master (pg Pool)');
        // `extra` still reaches the pg Pool: the statement timeout the module sets is in force on its connections.
        const wanted = ds.options.extra?.statement_timeout;
        if (wanted !== undefined) {
          const [row] = await ds.query(`SELECT EXTRACT(EPOCH FROM current_setting('statement_timeout')::interval) * 1000 AS ms`);
          assert.equal(Number(row.ms), wanted, 'extra.statement_timeout reached the pg Pool');
        }
      }
      if (expectedDialect === 'mysql') {
        assert.equal(typeof driver.pool?.query, 'function', 'driver.pool (mysql2 pool)');
        if (ds.options.connectTimeout !== undefined) {
          assert.equal(driver.pool.config.connectionConfig.connectTimeout, ds.options.connectTimeout, 'connectTimeout honoured');
        }
      }
      if (expectedDialect === 'sqlite') {
        const db = driver.databaseConnection;
        assert.equal(typeof db?.prepare, 'function', 'driver.databaseConnection (better-sqlite3)');
        assert.equal(db.pragma('journal_mode', { simple: true }), ds.options.enableWAL ? 'wal' : 'memory', 'enableWAL honoured');
        assert.equal(db.pragma('busy_timeout', { simple: true }), ds.options.timeout ?? 5000, 'timeout honoured');
      }
    });
    await check(`[${label}] the app's default DataSource is still the app's own`, async () => {
      const appDs = app.get(getDataSourceToken());
      assert.notEqual(appDs, ds);
      assert.equal(appDs.options.type, 'better-sqlite3');
      assert.equal(appDs.options.database, ':memory:');
    });
    await check(`[${label}] addItems / getItems / getItems(n) / popItem / clearSession / replaceHistoryWithCompaction`, async () => {
      const s = memory.session(`compat-${suffix}`);
      assert.ok(s instanceof ConversationSession);
      await s.addItems([user('one'), user('two'), user('drei ✓ 🚀')]);
      assert.deepEqual(texts(await s.getItems()), ['one', 'two', 'drei ✓ 🚀']);
      assert.deepEqual(texts(await s.getItems(2)), ['two', 'drei ✓ 🚀']);
      assert.deepEqual(await s.getItems(0), []);
      assert.deepEqual(await s.popItem(), user('drei ✓ 🚀'));
      assert.deepEqual(texts(await s.getItems()), ['one', 'two']);
      await s.clearSession();
      assert.deepEqual(await s.getItems(), []);
      assert.equal(await s.popItem(), undefined);
      await s.addItems([user('again')]);
      await s.getItems();
      await s.replaceHistoryWithCompaction([{ type: 'compaction', encrypted_content: 'summary' }, user('kept')]);
      assert.deepEqual(await s.getItems(), [{ type: 'compaction', encrypted_content: 'summary' }, user('kept')]);
      assert.equal(await memory.deleteSession(s.conversationId), true);
      assert.equal(await memory.deleteSession(s.conversationId), false);
    });
    await check(`[${label}] run(agent, input, { session }) with @openai/agents-core ${version('@openai/agents-core')}`, async () => {
      const session = memory.session(`agent-${suffix}`);
      const agent = new Agent({ name: 'echo', instructions: 'Echo.', model: new EchoModel() });
      const first = await run(agent, 'hello', { session });
      assert.equal(first.finalOutput, 'echo: hello (1 in)');
      const second = await run(agent, 'again', { session });
      assert.equal(second.finalOutput, 'echo: again (3 in)', 'the second turn saw the stored history');
      const stored = await session.getItems();
      assert.equal(stored.length, 4);
      assert.deepEqual(texts(stored), ['hello', 'echo: hello (1 in)', 'again', 'echo: again (3 in)']);
      await session.clearSession();
    });
  } finally {
    if (ds.isInitialized) {
      await ds.query(`DROP TABLE IF EXISTS ${tables.messages}`).catch(() => undefined);
      await ds.query(`DROP TABLE IF EXISTS ${tables.sessions}`).catch(() => undefined);
    }
    await app.close();
  }
  await check(`[${label}] app.close() destroyed the owned DataSource; later calls reject with SessionStorageUnavailableError`, async () => {
    assert.equal(ds.isInitialized, false);
    await assert.rejects(memory.session('late').getItems(), SessionStorageUnavailableError);
    await assert.rejects(memory.session('late').addItems([user('x')]), SessionStorageUnavailableError);
  });
}

async function smokeReuse() {
  // The application's own DataSource, passed as an instance through forRootAsync + @nestjs/typeorm's token:
  // the module must use it and never destroy it. (Reuse by name, `dataSource: 'app'`, is not checked here: it
  // fails the same way on Nest 11 + TypeORM 0.3, see docs/compatibility.md.)
  const file = join(tmp, 'app.db');
  class AppModule {}
  Module({
    imports: [
      TypeOrmModule.forRoot({ name: 'app', type: 'better-sqlite3', database: file }),
      SessionMemoryModule.forRootAsync({
        inject: [getDataSourceToken('app')],
        useFactory: (dataSource) => ({ dataSource, createTables: true, tables: { sessions: 'r_s', messages: 'r_m' } }),
      }),
    ],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'], abortOnError: false });
  const memory = app.get(SessionMemoryService);
  const appDs = app.get(getDataSourceToken('app'));
  await check('[reuse] forRootAsync({ inject: [getDataSourceToken(name)] }) reuses the TypeOrmModule DataSource', async () => {
    assert.equal(memory.dataSource, appDs);
    await memory.session('r').addItems([user('kept')]);
    assert.deepEqual(texts(await memory.session('r').getItems()), ['kept']);
  });
  // Run only SessionMemoryModule's shutdown hooks: the application's DataSource must survive them.
  await memory.onApplicationShutdown();
  await check('[reuse] the module never destroys a reused DataSource', async () => {
    assert.equal(appDs.isInitialized, true);
    assert.deepEqual(await appDs.query('SELECT COUNT(*) AS n FROM r_m'), [{ n: 1 }]);
  });
  await app.close();
}

/** Applies a method decorator by hand (plain JS has no decorator syntax). */
function decorateMethod(cls, method, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, method);
  for (const d of decorators) d(cls.prototype, method, descriptor);
}

async function smokeHttp() {
  // @Conversation() (a param decorator + pipe, no request scope) and @InjectConversationSession()
  // (a request-scoped provider keyed by the x-conversation-id header) on Nest 12's Express adapter.
  class ParamController {
    constructor(memory) {
      this.memory = memory;
    }
    async add(session, text) {
      await session.addItems([user(text)]);
      return { id: session.conversationId, items: texts(await session.getItems()) };
    }
  }
  Controller('param')(ParamController);
  InjectSessionMemory()(ParamController, undefined, 0);
  decorateMethod(ParamController, 'add', Get(':text'));
  Conversation()(ParamController.prototype, 'add', 0);
  Param('text')(ParamController.prototype, 'add', 1);

  class ScopedController {
    constructor(session) {
      this.session = session;
    }
    async list() {
      return { id: this.session.conversationId, items: texts(await this.session.getItems()) };
    }
  }
  Controller('scoped')(ScopedController);
  InjectConversationSession()(ScopedController, undefined, 0);
  decorateMethod(ScopedController, 'list', Get());

  class HttpModule {}
  Module({
    imports: [SessionMemoryModule.forRoot({ url: 'sqlite::memory:' })],
    controllers: [ParamController, ScopedController],
  })(HttpModule);
  const app = await NestFactory.create(HttpModule, { logger: ['error'], abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const base = await app.getUrl();
  const get = async (path, id) => {
    const res = await fetch(`${base.replace('[::1]', '127.0.0.1')}${path}`, { headers: id ? { 'x-conversation-id': id } : {} });
    return { status: res.status, body: await res.json() };
  };
  try {
    await check('[http] @Conversation() reads x-conversation-id on Nest 12 + Express', async () => {
      assert.deepEqual(await get('/param/first', 'conv-A'), { status: 200, body: { id: 'conv-A', items: ['first'] } });
      assert.deepEqual(await get('/param/second', 'conv-A'), { status: 200, body: { id: 'conv-A', items: ['first', 'second'] } });
      assert.deepEqual((await get('/param/other', 'conv-B')).body, { id: 'conv-B', items: ['other'] });
      assert.equal((await get('/param/none')).status, 400);
    });
    await check('[http] @InjectConversationSession() gives each request its own conversation', async () => {
      assert.deepEqual(await get('/scoped', 'conv-A'), { status: 200, body: { id: 'conv-A', items: ['first', 'second'] } });
      assert.deepEqual(await get('/scoped', 'conv-B'), { status: 200, body: { id: 'conv-B', items: ['other'] } });
      assert.equal((await get('/scoped')).status, 400);
    });
  } finally {
    await app.close();
  }
}

async function smokeBadOptions() {
  await check('[config] a bad table name is refused at startup with SessionMemoryConfigurationError', async () => {
    await assert.rejects(boot({ url: 'sqlite::memory:', tables: { messages: 'x; DROP TABLE y' } }, false), (err) => {
      assert.ok(err instanceof SessionMemoryConfigurationError, String(err));
      assert.match(err.message, /tables\.messages/);
      return true;
    });
  });
}

console.log(
  `compat: node ${process.version}; ${['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/typeorm', 'typeorm', 'better-sqlite3', 'pg', 'mysql2', '@openai/agents-core', 'rxjs', 'reflect-metadata', 'nestjs-session-memory']
    .map((p) => `${p}@${version(p)}`)
    .join(', ')}`,
);
try {
  await smokeDialect('sqlite file', `sqlite:${join(tmp, 'memory.db')}`, 'sqlite');
  await smokeDialect('sqlite memory', 'sqlite::memory:', 'sqlite');
  if (!SKIP.has('postgres')) await smokeDialect('postgres', POSTGRES_URL, 'postgres');
  else console.log('  skip [postgres] (COMPAT_SKIP)');
  if (!SKIP.has('mysql')) await smokeDialect('mysql', MYSQL_URL, 'mysql');
  else console.log('  skip [mysql] (COMPAT_SKIP)');
  await smokeReuse();
  await smokeHttp();
  await smokeBadOptions();
} catch (err) {
  results.push(false);
  console.log(`  FAIL (aborted) ${(err && err.stack) || err}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`compat: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
