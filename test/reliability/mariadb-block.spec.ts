import { createConnection } from 'mysql2/promise';
import { SessionStorageUnavailableError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { startMemory, TestMemory } from '../support/memory';
import { user } from '../support/items';
import { settle } from '../support/outcomes';

/** The statements the module's pool sent (each `query` call of a pooled mysql2 connection), SET SESSION left out. */
function recordStatements(m: TestMemory): string[] {
  const sent: string[] = [];
  const pool = (m.memory.dataSource.driver as any).pool;
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = (cb: (err: Error | null, conn: any) => void) =>
    getConnection((err: Error | null, conn: any) => {
      if (conn && !conn.__recorded) {
        conn.__recorded = true;
        const query = conn.query.bind(conn);
        conn.query = (...args: unknown[]) => {
          const sql = typeof args[0] === 'string' ? args[0] : String((args[0] as { sql: string }).sql);
          if (!/^SET SESSION/.test(sql)) sent.push(sql);
          return query(...args);
        };
      }
      cb(err, conn);
    });
  return sent;
}

/**
 * MariaDB: `addItems` and `popItem` send their lock-first transaction as one `BEGIN NOT ATOMIC` block
 * (one round trip); the same locks, in the same order, as statement by statement. A block that fails
 * part-way leaves nothing behind on its pooled connection: no open transaction, no lock held.
 */
describeEachDialect(
  'MariaDB writes in one block',
  (_dialect, url) => {
    let m: TestMemory;
    let sent: string[];
    beforeEach(async () => {
      m = await startMemory(url, { timeouts: { lockMs: 1000 } });
      sent = recordStatements(m);
    });
    afterEach(() => m.close());

    it('addItems and popItem of an existing conversation are one statement each; a pop of an unknown one creates nothing', async () => {
      const session = m.memory.session('block-one');
      await session.addItems([user('first')]); // creates the conversation
      for (const writer of [session, m.memory.session('block-one')]) {
        // The session that wrote last knows its branch; a new one follows the current branch (a condition in the block).
        sent.length = 0;
        await writer.addItems([user(writer === session ? 'second' : 'third')]);
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatch(/^BEGIN NOT ATOMIC/);
      }
      sent.length = 0;
      expect(await session.popItem()).toEqual(user('third'));
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/^BEGIN NOT ATOMIC/);
      expect(await session.getItems()).toEqual([user('first'), user('second')]);

      expect(await m.memory.session('block-unknown').popItem()).toBeUndefined();
      expect(
        await m.sql(`SELECT session_id FROM ${m.tables.sessions} WHERE session_id = ?`, ['block-unknown']),
      ).toEqual([]);
    });

    it('a server that refuses blocks (as MySQL does) gets the statements one by one, and is asked once', async () => {
      // MariaDB in Oracle mode refuses `BEGIN NOT ATOMIC` with the parse error MySQL gives; set on every
      // pooled connection before its next query.
      const pool = (m.memory.dataSource.driver as any).pool;
      const set = new WeakSet<object>();
      pool.on('acquire', (conn: any) => {
        if (set.has(conn)) return;
        set.add(conn);
        conn.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ORACLE')", () => undefined);
      });
      const session = m.memory.session('block-refused');
      await session.addItems([user('one'), user('two')]);
      await session.addItems([user('three')]);
      expect(await session.popItem()).toEqual(user('three'));
      expect(await m.memory.session('block-refused').popItem()).toEqual(user('two'));
      expect(await session.getItems()).toEqual([user('one')]);
      const blocks = sent.filter((sql) => sql.startsWith('BEGIN NOT ATOMIC'));
      expect(blocks).toHaveLength(1); // the first append's, refused; then START TRANSACTION ... COMMIT
      expect(sent.filter((sql) => sql === 'COMMIT').length).toBeGreaterThanOrEqual(4);
    });

    it('a block that fails after its first writes rolls them back and releases the session row', async () => {
      const id = 'block-fails';
      const session = m.memory.session(id);
      await session.addItems([user('kept')]);
      // Another transaction holds the conversation's message rows and the gap after them: the block locks
      // the session row, touches it, then waits to insert, until the lock wait times out (1 s).
      const holder = await createConnection({ uri: url });
      const observer = await createConnection({ uri: url });
      try {
        await holder.query('START TRANSACTION');
        await holder.query(`SELECT id FROM ${m.tables.messages} WHERE session_id = ? FOR UPDATE`, [id]);
        const outcome = await settle(session.addItems([user('not kept')]));
        expect(outcome.kind).toBe('unavailable');
        if (outcome.kind === 'unavailable') expect(outcome.error).toBeInstanceOf(SessionStorageUnavailableError);

        // The touch and the session-row lock went with the rollback: another client locks the row at once.
        await observer.query('START TRANSACTION');
        await expect(
          observer.query(`SELECT session_id FROM ${m.tables.sessions} WHERE session_id = ? FOR UPDATE NOWAIT`, [id]),
        ).resolves.toBeDefined();
        await observer.query('ROLLBACK');
        await holder.query('ROLLBACK');

        // The module works on; what the failed block wrote is not there.
        await session.addItems([user('after')]);
        expect(await session.getItems()).toEqual([user('kept'), user('after')]);
      } finally {
        await holder.end();
        await observer.end();
      }
    }, 20_000);
  },
  ['mariadb'],
);
