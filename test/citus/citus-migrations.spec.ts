import { readFileSync } from 'fs';
import { join } from 'path';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  SessionMemoryConfigurationError,
  SessionMemoryModule,
  createSessionMemoryMigration,
  createSessionMemoryUpgradeMigration,
} from '../../lib';
import { dataSourceOptionsFromUrl } from '../../lib/storage/data-source.factory';
import { describeEachDialect, isAvailable, TEST_URLS, uniqueSuffix } from '../support/databases';
import { startMemory } from '../support/memory';
import { EXPECTED, TABLE_PAIRS, copyFixtureRows } from '../support/python-fixture';
import { migrationDataSource } from '../support/migrations';
import { dropSessionTables } from '../support/tables';

type Tables = { sessions: string; messages: string };
const optional = (t: Tables) => [`${t.sessions}_metadata`, `${t.messages}_operations`, `${t.sessions}_owners`];
const all = (t: Tables) => [t.sessions, t.messages, ...optional(t)];

/** How Citus holds each table: its distribution column and colocation group, or nothing for a local table. */
async function distribution(
  client: Client,
  tables: string[],
): Promise<({ column: string; colocation: number } | null)[]> {
  const out: ({ column: string; colocation: number } | null)[] = [];
  for (const table of tables) {
    const { rows } = await client.query(
      `SELECT column_to_column_name(logicalrelid, partkey) AS column, colocationid AS colocation ` +
        `FROM pg_dist_partition WHERE logicalrelid = $1::regclass`,
      [table],
    );
    out.push(rows[0] ?? null);
  }
  return out;
}

/** The primary key, unique constraints, foreign keys and indexes of a table, with the table names taken out. */
async function layout(client: Client, t: Tables, table: string): Promise<string[]> {
  const anon = (s: string) => s.split(t.messages).join('<messages>').split(t.sessions).join('<sessions>');
  const { rows: constraints } = await client.query(
    `SELECT contype::text || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass`,
    [table],
  );
  const { rows: indexes } = await client.query(`SELECT indexdef AS def FROM pg_indexes WHERE tablename = $1`, [table]);
  const { rows: columns } = await client.query(
    `SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS def ` +
      `FROM information_schema.columns WHERE table_name = $1`,
    [table],
  );
  return [...constraints, ...indexes, ...columns].map((r: { def: string }) => anon(r.def)).sort();
}

async function primaryKey(client: Client, table: string): Promise<string> {
  const { rows } = await client.query(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
    [table],
  );
  return rows[0].def;
}

/** The Python SQLAlchemySession layout, as its PostgreSQL dump in the fixtures has it (integer ids, key `id`). */
function pythonLayoutDdl(t: Tables): string[] {
  const dump = readFileSync(join(__dirname, '..', 'fixtures', 'python-sqlalchemy-session', 'postgres.sql'), 'utf8');
  expect(dump).toContain('ADD CONSTRAINT agent_messages_pkey PRIMARY KEY (id);'); // the layout written out below
  return [
    `CREATE TABLE ${t.sessions} (session_id character varying NOT NULL PRIMARY KEY, ` +
      `created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL, ` +
      `updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL)`,
    `CREATE TABLE ${t.messages} (id serial NOT NULL, session_id character varying NOT NULL ` +
      `REFERENCES ${t.sessions} (session_id) ON DELETE CASCADE, message_data text NOT NULL, ` +
      `created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL, ` +
      `CONSTRAINT ${t.messages}_pkey PRIMARY KEY (id))`,
    `CREATE INDEX idx_${t.messages}_session_time ON ${t.messages} (session_id, created_at)`,
  ];
}

/** docs/citus.md, "Tables created by Python's SQLAlchemySession", for these table names. */
function documentedSteps(t: Tables): { transaction: string[]; after: string[] } {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'citus.md'), 'utf8');
  const section = doc.slice(doc.indexOf("### Tables created by Python's `SQLAlchemySession`"));
  const sql = /```sql\n([\s\S]*?)```/.exec(section)![1];
  const statements = sql
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('--'))
    .map((line) =>
      line
        .replace(/;$/, '')
        .replace(/agent_messages/g, t.messages)
        .replace(/agent_sessions/g, t.sessions),
    );
  const commit = statements.indexOf('COMMIT');
  return { transaction: statements.slice(0, commit + 1), after: statements.slice(commit + 1) };
}

describeEachDialect(
  'Citus: createTables, migrations and Python-created tables',
  (_dialect, url) => {
    let admin: Client;
    beforeAll(async () => {
      admin = new Client({ connectionString: url });
      await admin.connect();
    });
    afterAll(async () => {
      await admin?.end();
    });

    it('the create migration makes what createTables makes: five tables distributed by session_id, colocated, keys with session_id; down drops them', async () => {
      const s = uniqueSuffix();
      const migrated: Tables = { sessions: `cmig_s_${s}`, messages: `cmig_m_${s}` };
      const created: Tables = { sessions: `cct_s_${s}`, messages: `cct_m_${s}` };
      const ds = await migrationDataSource(url, [createSessionMemoryMigration({ tables: migrated })]);
      try {
        await ds.runMigrations();
        const viaModule = await startMemory(url, {}, created);
        await viaModule.module.close();

        for (const t of [migrated, created]) {
          const placed = await distribution(admin, all(t));
          expect(placed.map((p) => p?.column)).toEqual(Array(5).fill('session_id'));
          expect(new Set(placed.map((p) => p!.colocation)).size).toBe(1);
          expect(await primaryKey(admin, t.messages)).toBe('PRIMARY KEY (session_id, id)');
        }
        for (const [i, table] of all(migrated).entries())
          expect(await layout(admin, migrated, table)).toEqual(await layout(admin, created, all(created)[i]));

        const app = await startMemory(url, { createTables: false }, migrated);
        await app.memory.session('after-migration').addItems([{ role: 'user', content: 'a' }]);
        expect(await app.memory.session('after-migration').getItems()).toEqual([{ role: 'user', content: 'a' }]);
        await app.module.close();

        await ds.undoLastMigration();
        for (const table of all(migrated)) expect(await ds.createQueryRunner().hasTable(table)).toBe(false);
      } finally {
        for (const t of [migrated, created]) await dropSessionTables(admin, t);
        await ds.query(`DROP TABLE IF EXISTS ${ds.options.migrationsTableName}`);
        await ds.destroy();
      }
    });

    it("distribution: 'none' keeps plain, local tables in the Python layout (module and migration)", async () => {
      const s = uniqueSuffix();
      const local: Tables = { sessions: `cloc_s_${s}`, messages: `cloc_m_${s}` };
      const migrated: Tables = { sessions: `clocm_s_${s}`, messages: `clocm_m_${s}` };
      const ds = await migrationDataSource(url, [
        createSessionMemoryMigration({ tables: migrated, distribution: 'none' }),
      ]);
      try {
        await ds.runMigrations();
        const m = await startMemory(url, { distribution: 'none' }, local);
        try {
          for (const t of [local, migrated]) {
            expect(await distribution(admin, all(t))).toEqual(Array(5).fill(null));
            expect(await primaryKey(admin, t.messages)).toBe('PRIMARY KEY (id)');
          }
          const session = m.memory.session('local');
          await session.addItems([
            { role: 'user', content: 'a' },
            { role: 'user', content: 'b' },
          ]);
          expect(await session.popItem()).toEqual({ role: 'user', content: 'b' });
          expect(await session.getItems()).toEqual([{ role: 'user', content: 'a' }]);
        } finally {
          await m.module.close();
        }
      } finally {
        for (const t of [local, migrated]) await dropSessionTables(admin, t);
        await ds.query(`DROP TABLE IF EXISTS ${ds.options.migrationsTableName}`);
        await ds.destroy();
      }
    });

    it('Python-created tables: createTables refuses them naming the fix; after the documented steps and the upgrade migration, everything Python wrote reads back and the module works', async () => {
      const [pair] = TABLE_PAIRS;
      const s = uniqueSuffix();
      const t: Tables = { sessions: `cpy_s_${s}`, messages: `cpy_m_${s}` };
      const setup = new DataSource(dataSourceOptionsFromUrl(url));
      await setup.initialize();
      try {
        for (const statement of pythonLayoutDdl(t)) await setup.query(statement);
        await copyFixtureRows(setup, pair.key, t);
        const ids = async () =>
          (await admin.query(`SELECT id, session_id FROM ${t.messages} ORDER BY id`)).rows as unknown[];
        const before = await ids();

        // As they are, Citus cannot distribute them: createTables says what to do, and changes nothing.
        const refused = await startMemory(url, { createTables: true }, t).catch((err: Error) => err);
        expect(refused).toBeInstanceOf(SessionMemoryConfigurationError);
        expect((refused as Error).message).toMatch(/include session_id[\s\S]*docs\/citus\.md/);
        expect(await distribution(admin, [t.sessions, t.messages])).toEqual([null, null]);

        const { transaction, after } = documentedSteps(t);
        for (const statement of transaction) await admin.query(statement);
        for (const statement of after) await admin.query(statement);
        expect(await distribution(admin, [t.sessions, t.messages])).toEqual([
          { column: 'session_id', colocation: expect.any(Number) },
          { column: 'session_id', colocation: expect.any(Number) },
        ]);
        expect(await ids()).toEqual(before);

        const upgrade = await migrationDataSource(url, [
          createSessionMemoryUpgradeMigration({ tables: t, optionalTables: true }),
        ]);
        try {
          await upgrade.runMigrations();
          const placed = await distribution(admin, all(t));
          expect(placed.map((p) => p?.column)).toEqual(Array(5).fill('session_id'));
          expect(new Set(placed.map((p) => p!.colocation)).size).toBe(1);
          // The key is the (session_id, id) index: the migration added none.
          const { rows } = await admin.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1`, [t.messages]);
          expect(rows.map((r: { indexname: string }) => r.indexname).sort()).toEqual(
            [`${t.messages}_pkey`, `idx_${t.messages}_session_time`].sort(),
          );

          const app = await startMemory(url, { createTables: false }, t);
          try {
            for (const [sessionId, expected] of Object.entries(EXPECTED[pair.key])) {
              expect(await app.memory.session(sessionId).getItems()).toStrictEqual(expected.items);
              expect(await app.memory.session(sessionId).getItems(3)).toStrictEqual(expected.limit_3);
            }
            const session = app.memory.session('after-citus');
            await session.addItems([{ role: 'user', content: 'ok' }]);
            await app.memory.setMetadata('after-citus', { moved: true });
            expect(await app.memory.getMetadata('after-citus')).toEqual({ moved: true });
            expect(await session.popItem()).toEqual({ role: 'user', content: 'ok' });
          } finally {
            await app.module.close();
          }
        } finally {
          await upgrade.query(`DROP TABLE IF EXISTS ${upgrade.options.migrationsTableName}`);
          await upgrade.destroy();
        }
      } finally {
        await dropSessionTables(admin, t);
        await setup.destroy();
      }
    });

    it('refuses a distribution option it does not know, before connecting', async () => {
      const attempt = Test.createTestingModule({
        imports: [SessionMemoryModule.forRoot({ url, distribution: 'sharded' as never })],
      }).compile();
      await expect(attempt).rejects.toThrow(SessionMemoryConfigurationError);
      await expect(attempt).rejects.toThrow(/distribution is "sharded".*'auto'.*'citus'.*'none'/);
      expect(() => createSessionMemoryMigration({ distribution: 'x' as never })).toThrow(
        SessionMemoryConfigurationError,
      );
    });
  },
  ['citus'],
);

(isAvailable('postgres') ? it : it.skip)(
  "distribution: 'citus' on a PostgreSQL server without the citus extension fails at startup, saying why",
  async () => {
    const attempt = Test.createTestingModule({
      imports: [SessionMemoryModule.forRoot({ url: TEST_URLS.postgres, distribution: 'citus', createTables: true })],
    }).compile();
    const err = await attempt.then(
      async (m) => {
        await m.init();
        await m.close();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect((err as Error).message).toMatch(/distribution is 'citus' but this database has no citus extension/);
  },
);
