import { Test } from '@nestjs/testing';
import { DataSource, Table } from 'typeorm';
import {
  SessionMemoryConfigurationError,
  SessionMemoryModule,
  SessionMemoryService,
  createSessionMemoryMigration,
  createSessionMemoryUpgradeMigration,
} from '../../lib';
import { dataSourceOptionsFromUrl } from '../../lib/storage/data-source.factory';
import { SINGLE_SERVER_DIALECTS, TestDialect, describeEachDialect, uniqueSuffix } from '../support/databases';
import { rawQuery, urlFor } from '../support/memory';
import {
  EXPECTED,
  PostgresFixture,
  copyFixtureRows,
  copySqliteFixture,
  createPythonLayoutOnMysql,
  loadPostgresFixture,
} from '../support/python-fixture';
import { dropSessionTables } from '../support/tables';
import { migrationDataSource } from '../support/migrations';

type Tables = { sessions: string; messages: string };

/** Drops a pair of tables and the optional tables beside it, children first. */
async function dropLayout(ds: DataSource, t: Tables): Promise<void> {
  await dropSessionTables(ds, t);
}

async function dropMigrationsTable(ds: DataSource): Promise<void> {
  await ds.query(`DROP TABLE IF EXISTS ${ds.options.migrationsTableName}`);
}

async function getTable(ds: DataSource, name: string): Promise<Table | undefined> {
  const qr = ds.createQueryRunner();
  try {
    return await qr.getTable(name);
  } finally {
    await qr.release();
  }
}

/** A table's structure with its own name taken out, so that two pairs of tables can be compared. */
function shape(table: Table | undefined, tables: Tables) {
  expect(table).toBeDefined();
  const anon = (s: string | undefined) =>
    (s ?? '').split(tables.messages).join('<messages>').split(tables.sessions).join('<sessions>').replace(/^.*\./, '');
  return {
    columns: table!.columns.map((c) => ({
      name: c.name,
      type: c.type,
      length: c.length,
      nullable: c.isNullable,
      primary: c.isPrimary,
      generated: c.isGenerated,
      default: c.default,
      collation: c.collation,
      charset: c.charset,
    })),
    // Column order is checked with indexColumns(); getTable reports it in no fixed order on PostgreSQL.
    indices: table!.indices
      .map((i) => ({ name: anon(i.name), columns: [...i.columnNames].sort(), unique: i.isUnique }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    foreignKeys: table!.foreignKeys.map((f) => ({
      columns: f.columnNames,
      references: anon(f.referencedTableName),
      referencedColumns: f.referencedColumnNames,
      onDelete: f.onDelete,
    })),
  };
}

/** The columns of an index, in index order (TypeORM's getTable does not keep that order on PostgreSQL). */
async function indexColumns(ds: DataSource, messages: string, index: string): Promise<string[] | undefined> {
  if (ds.options.type !== 'postgres')
    return (await getTable(ds, messages))?.indices.find((i) => i.name === index)?.columnNames;
  const schema = messages.includes('.') ? messages.split('.')[0] : 'public';
  const [row] = await rawQuery<{ indexdef: string }>(
    ds,
    `SELECT indexdef FROM pg_indexes WHERE schemaname = ? AND indexname = ?`,
    [schema, index],
  );
  return (
    row &&
    /\(([^)]*)\)\s*$/
      .exec(row.indexdef)![1]
      .split(',')
      .map((c) => c.trim())
  );
}

/** Something that changes when a table is rewritten (PostgreSQL: its file node) or redefined (SQLite, MySQL: its DDL). */
async function tableIdentity(ds: DataSource, dialect: TestDialect, table: string): Promise<string> {
  if (dialect === 'postgres') return String((await rawQuery(ds, `SELECT pg_relation_filenode(?) AS n`, [table]))[0].n);
  if (dialect === 'sqlite')
    return (await rawQuery(ds, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, [table]))[0].sql;
  return (await ds.query(`SHOW CREATE TABLE ${table}`))[0]['Create Table']
    .replace(/\s*KEY `idx_\w+_session_id` \(`session_id`,`id`\),?/, '')
    .replace(/ AUTO_INCREMENT=\d+/, ''); // the counter moves with every insert
}

async function rowsOf(ds: DataSource, table: string): Promise<unknown[]> {
  return rawQuery(ds, `SELECT * FROM ${table} ORDER BY 1`);
}

describe('migration options', () => {
  it.each([
    [{ timestamp: 123 }, /13-digit/],
    [{ name: 'NoTimestamp' }, /13-digit timestamp/],
    [{ tables: { messages: 'bad name' } }, /plain SQL identifier/],
    [{ schema: 'a', tables: { schema: 'b' } }, /differ/],
    [{ dialect: 'oracle' as any }, /unknown/],
  ])('refuses %p with SessionMemoryConfigurationError', (options, message) => {
    for (const factory of [createSessionMemoryMigration, createSessionMemoryUpgradeMigration]) {
      expect(() => factory(options)).toThrow(SessionMemoryConfigurationError);
      expect(() => factory(options)).toThrow(message);
    }
  });

  it('names migrations by kind, tables and timestamp; a subclass keeps its own name', () => {
    expect(new (createSessionMemoryMigration())().constructor.name).toBe('SessionMemoryCreateTables1764115200000');
    expect(createSessionMemoryUpgradeMigration().name).toBe('SessionMemoryUpgradePythonTables1764115200001');
    expect(
      createSessionMemoryMigration({
        tables: { messages: 'chat_messages', sessions: 'chat_sessions' },
        timestamp: 1800000000000,
      }).name,
    ).toBe('SessionMemoryCreateTables_chat_messages1800000000000');
    expect(createSessionMemoryMigration({ schema: 'memory' }).name).toBe(
      'SessionMemoryCreateTables_memory_agent_messages1764115200000',
    );
    class AddSessionMemory1800000000001 extends createSessionMemoryMigration() {}
    expect(new AddSessionMemory1800000000001().constructor.name).toBe('AddSessionMemory1800000000001');
  });
});

// Citus (distributed tables, keys with session_id): test/citus/citus-migrations.spec.ts.
describeEachDialect(
  'createSessionMemoryMigration',
  (dialect, baseUrl) => {
    let url: string;
    beforeAll(() => {
      url = urlFor(dialect, baseUrl);
    });

    it('up creates exactly the layout createTables creates, the module runs on it with createTables off, down drops it', async () => {
      const s = uniqueSuffix();
      const migrated: Tables = { sessions: `mig_s_${s}`, messages: `mig_m_${s}` };
      const created: Tables = { sessions: `ct_s_${s}`, messages: `ct_m_${s}` };
      const ds = await migrationDataSource(url, [createSessionMemoryMigration({ tables: migrated })]);
      try {
        const executed = await ds.runMigrations();
        expect(executed.map((m) => m.name)).toEqual([`SessionMemoryCreateTables_${migrated.messages}1764115200000`]);

        // The same tables, made by the module at startup.
        const viaModule = await Test.createTestingModule({
          imports: [SessionMemoryModule.forRoot({ url, tables: created, createTables: true })],
        }).compile();
        await viaModule.init();
        await viaModule.close();
        const layout = (t: Tables) => [t.sessions, t.messages, `${t.sessions}_metadata`, `${t.messages}_operations`];
        const [mine, theirs] = [layout(migrated), layout(created)];
        for (let i = 0; i < mine.length; i++) {
          expect(shape(await getTable(ds, mine[i]), migrated)).toEqual(shape(await getTable(ds, theirs[i]), created));
        }
        expect(await indexColumns(ds, migrated.messages, `idx_${migrated.messages}_session_id`)).toEqual([
          'session_id',
          'id',
        ]);
        expect(await indexColumns(ds, migrated.messages, `idx_${migrated.messages}_session_time`)).toEqual([
          'session_id',
          'created_at',
        ]);

        const app = await Test.createTestingModule({
          imports: [SessionMemoryModule.forRoot({ url, tables: migrated, createTables: false })],
        }).compile();
        await app.init();
        const session = app.get(SessionMemoryService).session('after-migration');
        await session.addItems([
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ]);
        expect(await session.getItems()).toEqual([
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ]);
        await app.close();

        await ds.undoLastMigration();
        for (const table of mine) expect(await ds.createQueryRunner().hasTable(table)).toBe(false);
        expect(await ds.query(`SELECT * FROM ${ds.options.migrationsTableName}`)).toEqual([]);
      } finally {
        for (const t of [migrated, created]) await dropLayout(ds, t);
        await dropMigrationsTable(ds);
        await ds.destroy();
      }
    });

    it('refuses to run on another dialect than the one it was built for', async () => {
      const s = uniqueSuffix();
      const other = dialect === 'postgres' ? 'mysql' : 'postgres';
      const ds = await migrationDataSource(url, [
        createSessionMemoryMigration({ tables: { sessions: `x_s_${s}`, messages: `x_m_${s}` }, dialect: other }),
      ]);
      try {
        await expect(ds.runMigrations()).rejects.toThrow(/built with dialect/);
        expect(await ds.createQueryRunner().hasTable(`x_m_${s}`)).toBe(false);
      } finally {
        await dropMigrationsTable(ds);
        await ds.destroy();
      }
    });

    if (dialect === 'postgres') {
      it('creates the tables in the given schema (creating the schema), and down drops the tables', async () => {
        const s = uniqueSuffix();
        const schema = `nsm_mig_${s}`;
        const ds = await migrationDataSource(url, [createSessionMemoryMigration({ schema })]);
        try {
          await ds.runMigrations();
          expect(await indexColumns(ds, `${schema}.agent_messages`, 'idx_agent_messages_session_id')).toEqual([
            'session_id',
            'id',
          ]);
          const app = await Test.createTestingModule({
            imports: [SessionMemoryModule.forRoot({ url, tables: { schema }, createTables: false })],
          }).compile();
          await app.init();
          await app
            .get(SessionMemoryService)
            .session('in-schema')
            .addItems([{ role: 'user', content: 'x' }]);
          await app.close();
          expect(await rawQuery(ds, `SELECT session_id FROM ${schema}.agent_messages`)).toEqual([
            { session_id: 'in-schema' },
          ]);
          await ds.undoLastMigration();
          for (const table of [
            'agent_sessions',
            'agent_messages',
            'agent_sessions_metadata',
            'agent_messages_operations',
          ]) {
            expect(await ds.createQueryRunner().hasTable(`${schema}.${table}`)).toBe(false);
          }
        } finally {
          await ds.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await dropMigrationsTable(ds);
          await ds.destroy();
        }
      });
    } else {
      it('refuses a schema outside PostgreSQL', async () => {
        const ds = await migrationDataSource(url, [createSessionMemoryMigration({ schema: 'nope' })]);
        try {
          await expect(ds.runMigrations()).rejects.toThrow(/only supported on PostgreSQL/);
        } finally {
          await dropMigrationsTable(ds);
          await ds.destroy();
        }
      });
    }
  },
  SINGLE_SERVER_DIALECTS,
);

describeEachDialect(
  'createSessionMemoryUpgradeMigration on a Python-created layout',
  (dialect, baseUrl) => {
    let pg: PostgresFixture | undefined;
    let url: string;
    const pairs: Tables[] = [];
    let setupDs: DataSource | undefined;

    beforeAll(async () => {
      if (dialect === 'postgres') {
        pg = await loadPostgresFixture(baseUrl);
        url = pg.url;
        pairs.push(
          { sessions: 'agent_sessions', messages: 'agent_messages' },
          { sessions: 'chat_sessions', messages: 'chat_messages' },
        );
      } else if (dialect === 'sqlite') {
        url = `sqlite:${copySqliteFixture()}`;
        pairs.push(
          { sessions: 'agent_sessions', messages: 'agent_messages' },
          { sessions: 'chat_sessions', messages: 'chat_messages' },
        );
      } else {
        url = baseUrl;
        const s = uniqueSuffix();
        const keys = Object.keys(EXPECTED);
        setupDs = new DataSource(dataSourceOptionsFromUrl(url));
        await setupDs.initialize();
        for (const [i, key] of keys.entries()) {
          const t = { sessions: `py${i}_s_${s}`, messages: `py${i}_m_${s}` };
          await createPythonLayoutOnMysql(setupDs, t);
          await copyFixtureRows(setupDs, key, t);
          pairs.push(t);
        }
      }
    });
    afterAll(async () => {
      if (setupDs) {
        for (const t of pairs) {
          await setupDs.query(`DROP TABLE IF EXISTS ${t.messages}`);
          await setupDs.query(`DROP TABLE IF EXISTS ${t.sessions}`);
        }
        await setupDs.destroy();
      }
      await pg?.drop();
    });

    it('up adds only the (session_id, id) index without rewriting the tables; the module reads and writes; down removes it', async () => {
      const keys = Object.keys(EXPECTED);
      const migrations = pairs.map((tables, i) =>
        createSessionMemoryUpgradeMigration({ tables, timestamp: 1764115200001 + i }),
      );
      const ds = await migrationDataSource(url, migrations);
      try {
        const before = new Map<string, { identity: string; rows: unknown[]; shape: unknown }>();
        for (const t of pairs) {
          expect(await indexColumns(ds, t.messages, `idx_${t.messages}_session_id`)).toBeUndefined();
          for (const table of [t.sessions, t.messages]) {
            before.set(table, {
              identity: await tableIdentity(ds, dialect, table),
              rows: await rowsOf(ds, table),
              shape: shape(await getTable(ds, table), t),
            });
          }
        }

        expect(await ds.runMigrations()).toHaveLength(pairs.length);
        for (const t of pairs) {
          expect(await indexColumns(ds, t.messages, `idx_${t.messages}_session_id`)).toEqual(['session_id', 'id']);
          for (const table of [t.sessions, t.messages]) {
            const was = before.get(table)!;
            expect(await tableIdentity(ds, dialect, table)).toBe(was.identity);
            expect(await rowsOf(ds, table)).toEqual(was.rows);
            const now = shape(await getTable(ds, table), t) as typeof was.shape & { indices: { name: string }[] };
            expect({ ...now, indices: now.indices.filter((i) => i.name !== 'idx_<messages>_session_id') }).toEqual(
              was.shape,
            );
          }
        }

        // Running the same migrations again on another DataSource finds the index and does nothing.
        for (const [i, t] of pairs.entries()) {
          const again = await migrationDataSource(url, [
            createSessionMemoryUpgradeMigration({ tables: t, timestamp: 1764115200001 + i }),
          ]);
          try {
            expect(await again.runMigrations()).toHaveLength(1);
          } finally {
            await dropMigrationsTable(again);
            await again.destroy();
          }
        }

        for (const [i, t] of pairs.entries()) {
          const app = await Test.createTestingModule({
            imports: [SessionMemoryModule.forRoot({ url, tables: t, createTables: false })],
          }).compile();
          await app.init();
          const memory = app.get(SessionMemoryService);
          for (const [sessionId, expected] of Object.entries(EXPECTED[keys[i]])) {
            expect(await memory.session(sessionId).getItems()).toStrictEqual(expected.items);
            expect(await memory.session(sessionId).getItems(3)).toStrictEqual(expected.limit_3);
          }
          await memory.session('after-upgrade').addItems([{ role: 'user', content: 'ok' }]);
          expect(await memory.session('after-upgrade').popItem()).toEqual({ role: 'user', content: 'ok' });
          await app.close();
        }

        for (let i = 0; i < pairs.length; i++) await ds.undoLastMigration();
        for (const t of pairs) {
          expect(await indexColumns(ds, t.messages, `idx_${t.messages}_session_id`)).toBeUndefined();
          for (const table of [t.sessions, t.messages]) {
            expect(await tableIdentity(ds, dialect, table)).toBe(before.get(table)!.identity);
            expect(shape(await getTable(ds, table), t)).toEqual(before.get(table)!.shape);
          }
        }
      } finally {
        await dropMigrationsTable(ds);
        await ds.destroy();
      }
    });

    it('optionalTables: true also creates the management tables beside the Python ones; metadata works; down removes them', async () => {
      const t = pairs[0];
      const optional = [`${t.sessions}_metadata`, `${t.messages}_operations`];
      const ds = await migrationDataSource(url, [
        createSessionMemoryUpgradeMigration({ tables: t, optionalTables: true }),
      ]);
      try {
        const identity = await tableIdentity(ds, dialect, t.messages);
        await ds.runMigrations();
        for (const table of optional) expect(await ds.createQueryRunner().hasTable(table)).toBe(true);
        expect(await indexColumns(ds, t.sessions, `idx_${t.sessions}_updated`)).toEqual(['updated_at', 'session_id']);
        expect(await tableIdentity(ds, dialect, t.messages)).toBe(identity);

        const app = await Test.createTestingModule({
          imports: [SessionMemoryModule.forRoot({ url, tables: t, createTables: false })],
        }).compile();
        await app.init();
        const session = app.get(SessionMemoryService).session('with-metadata');
        await session.setMetadata({ owner: 'python-and-node' });
        expect(await session.getMetadata()).toEqual({ owner: 'python-and-node' });
        await session.clearSession();
        await app.close();

        await ds.undoLastMigration();
        for (const table of optional) expect(await ds.createQueryRunner().hasTable(table)).toBe(false);
        expect(await indexColumns(ds, t.sessions, `idx_${t.sessions}_updated`)).toBeUndefined();
        expect(await indexColumns(ds, t.messages, `idx_${t.messages}_session_id`)).toBeUndefined();
      } finally {
        for (const table of optional) await ds.query(`DROP TABLE IF EXISTS ${table}`);
        await dropMigrationsTable(ds);
        await ds.destroy();
      }
    });

    it('refuses tables that do not exist, naming the create migration', async () => {
      const s = uniqueSuffix();
      const ds = await migrationDataSource(url, [
        createSessionMemoryUpgradeMigration({ tables: { sessions: `none_s_${s}`, messages: `none_m_${s}` } }),
      ]);
      try {
        await expect(ds.runMigrations()).rejects.toThrow(/does not exist.*createSessionMemoryMigration/);
      } finally {
        await dropMigrationsTable(ds);
        await ds.destroy();
      }
    });
  },
  SINGLE_SERVER_DIALECTS,
);
