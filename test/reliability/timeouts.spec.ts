import { Test } from '@nestjs/testing';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { SessionMemoryConfigurationError, SessionMemoryModule, SessionStorageUnavailableError } from '../../lib';
import { describeEachDialect, isPostgresFamily, TestDialect } from '../support/databases';
import { startMemory, TestMemory, urlFor } from '../support/memory';
import { user } from '../support/items';
import { settle } from '../support/outcomes';

/**
 * `timeouts`: a conversation whose row another transaction holds locked fails fast with
 * SessionStorageUnavailableError (lock timeout / busy timeout) instead of holding pooled connections,
 * and the rest of the store keeps working. On Citus the row locks are taken on the workers, where the
 * coordinator's lock_timeout does not apply: there statementMs bounds the wait (docs/citus.md).
 */
const LOCK_MS: Record<TestDialect, number> = {
  postgres: 300,
  citus: 300,
  mariadb: 1000 /* whole seconds there */,
  sqlite: 300,
};

/** statementMs: long, except on Citus, where it is what ends a lock wait. */
const STATEMENT_MS: Record<TestDialect, number> = { postgres: 20_000, citus: 1_500, mariadb: 20_000, sqlite: 20_000 };

/** Another transaction, outside the module, holding the write lock on one conversation (on SQLite: the file). */
interface Locker {
  lock(conversationId: string): Promise<void>;
  release(): Promise<void>;
}

async function lockerFor(dialect: TestDialect, url: string, m: TestMemory): Promise<Locker> {
  const lockSql = `SELECT session_id FROM ${m.tables.sessions} WHERE session_id = ? FOR UPDATE`;
  switch (dialect) {
    case 'postgres':
    case 'citus': {
      const client = new Client({ connectionString: url });
      await client.connect();
      return {
        lock: async (id) => {
          await client.query('BEGIN');
          await client.query(lockSql.replace('?', '$1'), [id]);
        },
        release: async () => {
          await client.query('ROLLBACK');
          await client.end();
        },
      };
    }
    case 'mariadb': {
      const conn = await createConnection({ uri: url });
      return {
        lock: async (id) => {
          await conn.query('START TRANSACTION');
          await conn.query(lockSql, [id]);
        },
        release: async () => {
          await conn.query('ROLLBACK');
          await conn.end();
        },
      };
    }
    case 'sqlite': {
      // A second module instance on the same file: the same SQLite library, its own connection.
      const other = await startMemory(url, {}, m.tables);
      const db = (other.memory.dataSource.driver as any).databaseConnection as { exec(sql: string): void };
      return {
        lock: async () => db.exec('BEGIN IMMEDIATE'),
        release: async () => {
          db.exec('ROLLBACK');
          await other.close();
        },
      };
    }
  }
}

describeEachDialect('timeouts', (dialect, baseUrl) => {
  let url: string;
  let m: TestMemory;
  beforeAll(async () => {
    url = urlFor(dialect, baseUrl);
    m = await startMemory(url, {
      timeouts: { lockMs: LOCK_MS[dialect], statementMs: STATEMENT_MS[dialect] },
      // A small pool: calls stuck on one conversation must not starve the others.
      dataSourceOptions:
        dialect === 'sqlite' ? {} : isPostgresFamily(dialect) ? { extra: { max: 2 } } : { poolSize: 2 },
    });
  });
  afterAll(async () => {
    await m?.close();
  });

  it('are set on every connection of the pool the module builds', async () => {
    const driver = m.memory.dataSource.driver as any;
    if (isPostgresFamily(dialect)) {
      const rows = await Promise.all(
        [1, 2, 3].map(() => driver.master.query('SHOW lock_timeout').then((r: any) => r.rows[0].lock_timeout)),
      );
      expect(rows).toEqual(['300ms', '300ms', '300ms']);
      expect((await driver.master.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe(
        dialect === 'citus' ? '1500ms' : '20s',
      );
    } else if (dialect === 'mariadb') {
      const query = (sql: string) =>
        new Promise<any[]>((resolve, reject) =>
          driver.pool.query(sql, [], (e: Error, r: any[]) => (e ? reject(e) : resolve(r))),
        );
      // Several at once, so that the pool opens new connections: each gets the settings before its first query.
      const rows = await Promise.all(
        [1, 2, 3, 4].map(() =>
          query('SELECT @@SESSION.innodb_lock_wait_timeout AS l, @@SESSION.max_statement_time AS s'),
        ),
      );
      expect(rows.map((r) => [Number(r[0].l), Number(r[0].s)])).toEqual([
        [1, 20],
        [1, 20],
        [1, 20],
        [1, 20],
      ]);
    } else {
      expect(driver.databaseConnection.pragma('busy_timeout', { simple: true })).toBe(300);
    }
  });

  it('a conversation locked by another transaction fails fast with SessionStorageUnavailableError; nothing is written; then it works', async () => {
    const id = `locked-${Date.now()}`;
    const other = `free-${Date.now()}`;
    const session = m.memory.session(id);
    await session.addItems([user('before the lock')]);
    await m.memory.session(other).addItems([user('other before')]);
    const locker = await lockerFor(dialect, url, m);
    try {
      await locker.lock(id);
      // More calls than the pool has connections.
      const calls = dialect === 'mariadb' ? 2 : dialect === 'sqlite' ? 3 : 4; // mariadb: serialised per conversation in-process, 1 s each
      const outcomes = await Promise.all(
        Array.from({ length: calls }, (_, i) => settle(session.addItems([user(`blocked ${i}`)]))),
      );
      expect(outcomes.map((o) => o.kind)).toEqual(Array(calls).fill('unavailable'));
      const error = (outcomes[0] as { error: SessionStorageUnavailableError }).error;
      expect(error.message).toMatch(/retry/i);
      // the lock timeout itself, not some other failure
      const cause = error.cause as { code?: string; errno?: number };
      if (dialect === 'postgres') expect(cause.code).toBe('55P03'); // lock_not_available
      if (dialect === 'citus') expect(cause.code).toBe('57014'); // query_canceled: statement_timeout
      if (dialect === 'mariadb') expect(cause.errno).toBe(1205); // ER_LOCK_WAIT_TIMEOUT
      if (dialect === 'sqlite') expect(cause.code).toBe('SQLITE_BUSY');
      expect((await settle(session.clearSession())).kind).toBe('unavailable');
      // Reads are not blocked by a writer.
      expect(await session.getItems()).toEqual([user('before the lock')]);
      if (dialect === 'sqlite') {
        // SQLite has one writer per file: every write waits for it, and fails as fast.
        expect((await settle(m.memory.session(other).addItems([user('other during')]))).kind).toBe('unavailable');
      } else {
        // The pool is not held by the stuck conversation: others still write.
        await m.memory.session(other).addItems([user('other during')]);
      }
    } finally {
      await locker.release();
    }
    await session.addItems([user('after the lock')]);
    expect(await session.getItems()).toEqual([user('before the lock'), user('after the lock')]);
  });
});

describeEachDialect(
  'timeouts: statementMs',
  (_dialect, url) => {
    it('a statement running longer than statementMs is stopped by the server: typed error, nothing written', async () => {
      const m = await startMemory(url, { timeouts: { statementMs: 300 } });
      try {
        const id = `slow-${Date.now()}`;
        await m.memory.session(id).addItems([user('fast')]);
        // Every insert into this test's own table now takes 5 s.
        await m.sql(
          `CREATE TRIGGER ${m.tables.messages}_slow BEFORE INSERT ON ${m.tables.messages} FOR EACH ROW SET @nsm_slept = SLEEP(5)`,
        );
        const outcome = await settle(m.memory.session(id).addItems([user('slow')]));
        expect(outcome.kind).toBe('unavailable');
        // ER_STATEMENT_TIMEOUT: cut off by max_statement_time, not some other failure
        expect(((outcome as { error: Error }).error.cause as { errno?: number }).errno).toBe(1969);
        expect(await m.memory.session(id).getItems()).toEqual([user('fast')]);
      } finally {
        await m.close();
      }
    });
  },
  ['mariadb'], // PostgreSQL: faults.spec.ts; SQLite has no statement timeout
);

describe('timeouts option validation', () => {
  it.each([{ lockMs: -1 }, { statementMs: 1.5 }, { connectMs: Number.NaN }])(
    'refuses %p at startup with SessionMemoryConfigurationError',
    async (timeouts) => {
      const attempt = Test.createTestingModule({
        imports: [SessionMemoryModule.forRoot({ url: 'sqlite::memory:', timeouts })],
      }).compile();
      await expect(attempt).rejects.toBeInstanceOf(SessionMemoryConfigurationError);
      await expect(attempt).rejects.toThrow(/timeouts\./);
    },
  );
});
