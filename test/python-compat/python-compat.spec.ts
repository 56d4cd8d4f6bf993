import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { SessionItem, SessionMemoryModule, SessionMemoryService } from '../../lib';
import { TestDialect, describeEachDialect, uniqueSuffix } from '../support/databases';
import { TestMemory, rawQuery, startMemory, urlFor } from '../support/memory';
import {
  EXPECTED,
  PostgresFixture,
  TABLE_PAIRS,
  copyFixtureRows,
  copySqliteFixture,
  createPythonLayoutOnMysql,
  loadPostgresFixture,
} from '../support/python-fixture';

/** One table pair, opened through our module. */
interface Target {
  memory: SessionMemoryService;
  ds: DataSource;
  tables: { sessions: string; messages: string };
}

const EPOCH = '2000-01-01 00:00:00';

/** What the Python class runs for `get_items()` (no limit): order by created_at, then id; skip non-JSON. */
async function pythonView(t: Target, sessionId: string): Promise<unknown[]> {
  const rows = await rawQuery<{ message_data: string }>(
    t.ds,
    `SELECT message_data FROM ${t.tables.messages} WHERE session_id = ? ORDER BY created_at, id`,
    [sessionId],
  );
  return rows.map((r) => {
    expect(typeof r.message_data).toBe('string');
    return JSON.parse(r.message_data);
  });
}

async function storedRows(t: Target, sessionId: string): Promise<{ id: number; message_data: string }[]> {
  const rows = await rawQuery<{ id: number | string; message_data: string }>(
    t.ds,
    `SELECT id, message_data FROM ${t.tables.messages} WHERE session_id = ? ORDER BY id`,
    [sessionId],
  );
  return rows.map((r) => ({ id: Number(r.id), message_data: r.message_data }));
}

async function count(t: Target, sql: string, params: unknown[]): Promise<number> {
  const [row] = await rawQuery<{ n: number | string }>(t.ds, sql, params);
  return Number(row.n);
}

/**
 * The compatibility checks, for every table pair of the fixtures: reads give exactly what Python's
 * `get_items()` gave; our writes leave rows that Python's queries read back as the items written.
 */
function compatTests(dialect: TestDialect, target: (pairKey: string) => Target): void {
  for (const pair of TABLE_PAIRS) {
    const sessions = Object.keys(EXPECTED[pair.key]);
    const [first, second] = sessions;

    describe(`${pair.key}`, () => {
      for (const sessionId of sessions) {
        it(`reads ${sessionId} exactly as Python's get_items() and get_items(limit=3) returned it`, async () => {
          const expected = EXPECTED[pair.key][sessionId];
          const session = target(pair.key).memory.session(sessionId);
          expect(await session.getItems()).toStrictEqual(expected.items);
          expect(await session.getItems(3)).toStrictEqual(expected.limit_3);
        });
      }

      it(`addItems on ${first} appends rows Python reads back (JSON text, session row touched, updated_at moved)`, async () => {
        const t = target(pair.key);
        const expected = EXPECTED[pair.key][first];
        // Wall-clock timestamps of the fixture are from the machine that wrote it; pin them in the
        // past so that Python's ORDER BY created_at, id does not depend on this machine's clock.
        await rawQuery(t.ds, `UPDATE ${t.tables.messages} SET created_at = ? WHERE session_id = ?`, [
          '2020-01-01 00:00:00',
          first,
        ]);
        await rawQuery(t.ds, `UPDATE ${t.tables.sessions} SET updated_at = ? WHERE session_id = ?`, [EPOCH, first]);
        const added: SessionItem[] = [
          { role: 'user', content: `From Node on ${dialect}: grüß dich 👋, "quotes", \\ and \u2028` },
          {
            type: 'function_call',
            callId: 'call_node_1',
            name: 'lookup',
            arguments: '{"q":"Köln"}',
            status: 'completed',
          } as SessionItem,
        ];
        await t.memory.session(first).addItems(added);

        const rows = await storedRows(t, first);
        expect(rows.map((r) => r.message_data).slice(0, expected.ids.length)).toEqual(expected.message_data);
        expect(rows.map((r) => r.id).slice(0, expected.ids.length)).toEqual(expected.ids);
        const fresh = rows.slice(expected.ids.length);
        expect(fresh).toHaveLength(2);
        expect(fresh[0].id).toBeGreaterThan(Math.max(...expected.ids));
        expect(fresh[1].id).toBeGreaterThan(fresh[0].id);
        expect(fresh.map((r) => JSON.parse(r.message_data))).toStrictEqual(added);

        expect(await pythonView(t, first)).toStrictEqual([...expected.items, ...added]);
        expect(
          await count(t, `SELECT COUNT(*) AS n FROM ${t.tables.sessions} WHERE session_id = ? AND updated_at > ?`, [
            first,
            EPOCH,
          ]),
        ).toBe(1);
        expect(await t.memory.session(first).getItems(3)).toStrictEqual([...expected.items, ...added].slice(-3));
      });

      it('a conversation started from Node has the session row and timestamps Python expects', async () => {
        const t = target(pair.key);
        const id = `node-started-${Date.now()}`;
        await t.memory.session(id).addItems([{ role: 'user', content: 'hello' }]);
        const [s] = await rawQuery(
          t.ds,
          `SELECT session_id, created_at, updated_at FROM ${t.tables.sessions} WHERE session_id = ?`,
          [id],
        );
        expect(s.session_id).toBe(id);
        expect(s.created_at).not.toBeNull();
        expect(s.updated_at).not.toBeNull();
        const [m] = await rawQuery(t.ds, `SELECT created_at FROM ${t.tables.messages} WHERE session_id = ?`, [id]);
        expect(m.created_at).not.toBeNull();
        if (dialect === 'sqlite') {
          // SQLAlchemy parses SQLite TIMESTAMP text; CURRENT_TIMESTAMP's format is the one Python wrote.
          for (const v of [s.created_at, s.updated_at, m.created_at])
            expect(v).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
        }
        expect(await pythonView(t, id)).toStrictEqual([{ role: 'user', content: 'hello' }]);
      });

      it(`popItem on ${second} removes and returns the newest row, leaving what Python's pop_item would`, async () => {
        const t = target(pair.key);
        const expected = EXPECTED[pair.key][second];
        const popped = await t.memory.session(second).popItem();
        expect(popped).toStrictEqual(expected.items[expected.items.length - 1]);
        const rows = await storedRows(t, second);
        expect(rows.map((r) => r.id)).toEqual(expected.ids.slice(0, -1));
        expect(rows.map((r) => r.message_data)).toEqual(expected.message_data.slice(0, -1));
        expect(await pythonView(t, second)).toStrictEqual(expected.items.slice(0, -1));
      });

      it(`clearSession on ${second} deletes its rows and keeps its session row; deleteSession removes that too`, async () => {
        const t = target(pair.key);
        await t.memory.session(second).clearSession();
        expect(await count(t, `SELECT COUNT(*) AS n FROM ${t.tables.messages} WHERE session_id = ?`, [second])).toBe(0);
        expect(await count(t, `SELECT COUNT(*) AS n FROM ${t.tables.sessions} WHERE session_id = ?`, [second])).toBe(1);
        await t.memory.deleteSession(second);
        expect(await count(t, `SELECT COUNT(*) AS n FROM ${t.tables.sessions} WHERE session_id = ?`, [second])).toBe(0);
        expect(await t.memory.session(second).getItems()).toEqual([]);
        // The other conversation of the pair keeps its rows (the appended ones included).
        const other = EXPECTED[pair.key][first];
        expect((await pythonView(t, first)).slice(0, other.items.length)).toStrictEqual(other.items);
      });
    });
  }
}

describeEachDialect(
  'Python-created tables (createTables: false, no index of ours)',
  (dialect, baseUrl) => {
    let pg: PostgresFixture | undefined;
    const modules: TestingModule[] = [];
    const targets = new Map<string, Target>();

    beforeAll(async () => {
      let url: string;
      if (dialect === 'postgres') {
        pg = await loadPostgresFixture(baseUrl);
        url = pg.url;
      } else {
        url = `sqlite:${copySqliteFixture()}`;
      }
      for (const pair of TABLE_PAIRS) {
        const tables = { sessions: pair.sessions, messages: pair.messages };
        const module = await Test.createTestingModule({
          imports: [SessionMemoryModule.forRoot({ url, tables, createTables: false })],
        }).compile();
        await module.init();
        modules.push(module);
        const memory = module.get(SessionMemoryService);
        targets.set(pair.key, { memory, ds: memory.dataSource, tables });
      }
    });
    afterAll(async () => {
      for (const m of modules) await m.close();
      await pg?.drop();
    });

    it('starts on the tables exactly as Python left them: rows as expected.json says, no (session_id, id) index', async () => {
      for (const pair of TABLE_PAIRS) {
        const t = targets.get(pair.key)!;
        for (const [sessionId, expected] of Object.entries(EXPECTED[pair.key])) {
          const rows = await storedRows(t, sessionId);
          expect(rows.map((r) => r.id)).toEqual(expected.ids);
          expect(rows.map((r) => r.message_data)).toEqual(expected.message_data);
        }
        const indexes = (
          dialect === 'postgres'
            ? await rawQuery(t.ds, `SELECT indexname AS name FROM pg_indexes WHERE tablename = ?`, [pair.messages])
            : await rawQuery(t.ds, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [
                pair.messages,
              ])
        ).map((r: { name: string }) => r.name);
        expect(indexes).toContain(`idx_${pair.messages}_session_time`);
        expect(indexes).not.toContain(`idx_${pair.messages}_session_id`);
      }
    });

    compatTests(dialect, (key) => targets.get(key)!);
  },
  // Python's create_tables fails on MySQL/MariaDB (no length for the VARCHAR key): there are no such tables.
  ['sqlite', 'postgres'],
);

describeEachDialect(
  'Tables created by this module (createTables: true), holding the Python rows',
  (dialect, baseUrl) => {
    const memories = new Map<string, TestMemory>();

    beforeAll(async () => {
      const url = urlFor(dialect, baseUrl);
      for (const pair of TABLE_PAIRS) {
        const m = await startMemory(url);
        await copyFixtureRows(m.memory.dataSource, pair.key, m.tables);
        memories.set(pair.key, m);
      }
    });
    afterAll(async () => {
      for (const m of memories.values()) await m.close();
    });

    compatTests(dialect, (key) => {
      const m = memories.get(key)!;
      return { memory: m.memory, ds: m.memory.dataSource, tables: m.tables };
    });
  },
);

describeEachDialect(
  'MySQL tables in the layout newer Python releases create (VARCHAR(190) utf8mb4_bin, INT ids, TIMESTAMP), holding the Python rows',
  (dialect, baseUrl) => {
    const modules: TestingModule[] = [];
    const targets = new Map<string, Target>();
    let admin: DataSource;
    const pairs: { sessions: string; messages: string }[] = [];

    beforeAll(async () => {
      for (let i = 0; i < TABLE_PAIRS.length; i++) {
        const s = uniqueSuffix();
        pairs.push({ sessions: `pyl_s_${s}`, messages: `pyl_m_${s}` });
      }
      admin = new DataSource({ type: 'mariadb', url: baseUrl } as any);
      await admin.initialize();
      for (const [i, pair] of TABLE_PAIRS.entries()) {
        await createPythonLayoutOnMysql(admin, pairs[i]);
        await copyFixtureRows(admin, pair.key, pairs[i]);
        const module = await Test.createTestingModule({
          imports: [SessionMemoryModule.forRoot({ url: baseUrl, tables: pairs[i], createTables: false })],
        }).compile();
        await module.init();
        modules.push(module);
        const memory = module.get(SessionMemoryService);
        targets.set(pair.key, { memory, ds: memory.dataSource, tables: pairs[i] });
      }
    });
    afterAll(async () => {
      for (const m of modules) await m.close();
      for (const t of pairs) {
        await admin.query(`DROP TABLE IF EXISTS ${t.messages}`);
        await admin.query(`DROP TABLE IF EXISTS ${t.sessions}`);
      }
      await admin?.destroy();
    });

    compatTests(dialect, (key) => targets.get(key)!);
  },
  ['mariadb'],
);
