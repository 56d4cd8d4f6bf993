import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { SessionItem, SessionStorageUnavailableError } from '../../lib';
import { describeEachDialect, TestDialect } from '../support/databases';
import { startMemory, TestMemory } from '../support/memory';

const msg = (text: string): SessionItem => ({ role: 'user', content: text });

/** Opens a transaction elsewhere that holds the conversation's session row; returns its release. */
async function holdSessionRow(dialect: TestDialect, url: string, table: string, id: string) {
  if (dialect === 'postgres') {
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query('BEGIN');
    await c.query(`SELECT 1 FROM ${table} WHERE session_id = $1 FOR UPDATE`, [id]);
    return async () => {
      await c.query('ROLLBACK');
      await c.end();
    };
  }
  const c = await createConnection(url);
  await c.query('BEGIN');
  await c.query(`SELECT 1 FROM ${table} WHERE session_id = ? FOR UPDATE`, [id]);
  return async () => {
    await c.query('ROLLBACK');
    await c.end();
  };
}

describeEachDialect(
  'One stuck conversation beside the others',
  (dialect, url) => {
    let m: TestMemory;
    beforeAll(async () => {
      m = await startMemory(url, {
        timeouts: { lockMs: 2000, connectMs: 1000 },
        limits: { maxConcurrentPerConversation: 2, maxQueuedPerConversation: 4 },
      });
    });
    afterAll(async () => {
      await m?.close();
    });

    it('bounds what the stuck one may hold or queue, fails the rest fast naming it, and the others all succeed', async () => {
      const stuck = `stuck-${Date.now()}`;
      await m.memory.session(stuck).addItems([msg('before')]);
      const release = await holdSessionRow(dialect, url, m.tables.sessions, stuck);
      try {
        const onStuck = Array.from({ length: 30 }, (_, i) => m.memory.session(stuck).addItems([msg(`s${i}`)]));
        const onOthers = Array.from({ length: 30 }, (_, i) =>
          m.memory.session(`other-${i}-${Date.now()}`).addItems([msg(`o${i}`)]),
        );
        const [stuckResults, otherResults] = await Promise.all([
          Promise.allSettled(onStuck),
          Promise.allSettled(onOthers),
        ]);
        expect(otherResults.filter((r) => r.status === 'rejected')).toEqual([]);
        const busy = stuckResults.filter(
          (r) =>
            r.status === 'rejected' &&
            /busy \(2 operations are running and 4 waiting\)/.test((r.reason as Error).message),
        ) as PromiseRejectedResult[];
        // 2 may run and 4 may wait: the other 24 are refused at once.
        expect(busy).toHaveLength(24);
        for (const r of busy) {
          expect(r.reason).toBeInstanceOf(SessionStorageUnavailableError);
          expect((r.reason as Error).message).toContain(JSON.stringify(stuck));
        }
        // The ones let through waited for the lock (or for a turn) and failed when that wait ran out, typed too.
        for (const r of stuckResults) {
          if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SessionStorageUnavailableError);
        }
      } finally {
        await release();
      }
      // Once the lock is gone the conversation works again.
      await m.memory.session(stuck).addItems([msg('after')]);
      expect((await m.memory.session(stuck).getItems()).at(-1)).toEqual(msg('after'));
    });
  },
  ['postgres', 'mariadb'],
);
