import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { SessionStorageUnavailableError } from '../../lib';
import { describeEachDialect, TestDialect } from '../support/databases';
import { startMemory, TestMemory, urlFor, useMemory } from '../support/memory';
import { user } from '../support/items';

/**
 * A burst of writes on ONE healthy conversation, in one process, nothing else running: every call
 * must complete (they queue in order, as PostgreSQL itself would queue them on the row lock), none is
 * refused for being many. The per-conversation bound limits connections in use, not callers waiting.
 */

/** The settled results split into values and the messages of the rejections. */
function split<T>(results: PromiseSettledResult<T>[]) {
  const values: T[] = [];
  const errors: string[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') values.push(r.value);
    else errors.push(String((r.reason as Error)?.message ?? r.reason));
  }
  return { values, errors };
}

/** How many calls failed, and the first distinct messages (enough to see why, short enough to read). */
const failures = (errors: string[]) => ({ failed: errors.length, examples: [...new Set(errors)].slice(0, 2) });

describeEachDialect('A burst of writes on one healthy conversation', (dialect, url) => {
  let m: TestMemory;
  let n = 0;
  const conv = (prefix: string) => `${prefix}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    // A SQLite file (not :memory:), as an application would have.
    m = await startMemory(urlFor(dialect, url));
  });
  afterAll(async () => {
    await m?.close();
  });

  it('500 concurrent addItems all succeed; every row is there once, each batch contiguous and in order', async () => {
    const id = conv('burst-add');
    const session = m.memory.session(id);
    const N = 500;
    const batch = (b: number) => [user(`b${b}.0`), user(`b${b}.1`), user(`b${b}.2`)];
    const { errors } = split(await Promise.allSettled(Array.from({ length: N }, (_, b) => session.addItems(batch(b)))));
    expect(failures(errors)).toEqual({ failed: 0, examples: [] });

    const stored = (await m.memory.session(id).getItems()).map((i) => (i as { content: string }).content);
    expect(stored).toHaveLength(3 * N);
    const seen = new Set<number>();
    for (let at = 0; at < stored.length; at += 3) {
      const b = Number(/^b(\d+)\.0$/.exec(stored[at])?.[1]);
      expect(stored.slice(at, at + 3)).toEqual([`b${b}.0`, `b${b}.1`, `b${b}.2`]);
      expect(seen.has(b)).toBe(false);
      seen.add(b);
    }
    expect(seen.size).toBe(N);
  });

  it.each([
    [60, 40],
    [40, 60],
  ])(
    '%i concurrent popItem on %i items: min(N, M) distinct items returned, none twice, the rest undefined',
    async (N, M) => {
      const id = conv('burst-pop');
      await m.memory.session(id).addItems(Array.from({ length: M }, (_, i) => user(`i${i}`)));
      const session = m.memory.session(id);
      const { values, errors } = split(await Promise.allSettled(Array.from({ length: N }, () => session.popItem())));
      expect(failures(errors)).toEqual({ failed: 0, examples: [] });

      const popped = values.filter((v) => v !== undefined).map((v) => (v as { content: string }).content);
      expect(popped).toHaveLength(Math.min(N, M));
      expect(new Set(popped).size).toBe(popped.length);
      expect(values.filter((v) => v === undefined)).toHaveLength(N - Math.min(N, M));
      // Newest first: what was popped is exactly the newest min(N, M) items, and the rest are still stored.
      const newest = Array.from({ length: Math.min(N, M) }, (_, k) => `i${M - 1 - k}`);
      expect([...popped].sort()).toEqual([...newest].sort());
      const left = (await m.memory.session(id).getItems()).map((i) => (i as { content: string }).content);
      expect(left).toEqual(Array.from({ length: M - Math.min(N, M) }, (_, i) => `i${i}`));
    },
  );
});

describeEachDialect(
  'Many concurrent first writes of one new conversation on a SQLite file',
  (dialect, url) => {
    const m = useMemory(dialect, url);

    it('64 concurrent first writes all succeed and all are stored', async () => {
      const id = `first-${Date.now()}`;
      const { errors } = split(
        await Promise.allSettled(Array.from({ length: 64 }, (_, i) => m.memory.session(id).addItems([user(`f${i}`)]))),
      );
      expect(failures(errors)).toEqual({ failed: 0, examples: [] });
      const stored = (await m.memory.session(id).getItems()).map((i) => (i as { content: string }).content);
      expect([...stored].sort()).toEqual(Array.from({ length: 64 }, (_, i) => `f${i}`).sort());
    });
  },
  ['sqlite'],
);

describeEachDialect(
  '10,000 callers waiting on one conversation',
  (dialect, url) => {
    const m = useMemory(dialect, url);

    it('10,000 concurrent addItems of one item all complete, each item stored once', async () => {
      const id = `ten-thousand-${Date.now()}`;
      const N = 10_000;
      const session = m.memory.session(id);
      const { errors } = split(
        await Promise.allSettled(Array.from({ length: N }, (_, i) => session.addItems([user(`t${i}`)]))),
      );
      expect(failures(errors)).toEqual({ failed: 0, examples: [] });
      const [{ count }] = await m.sql<{ count: string | number }>(
        `SELECT COUNT(DISTINCT message_data) AS count FROM ${m.tables.messages} WHERE session_id = ?`,
        [id],
      );
      expect(Number(count)).toBe(N);
    }, 300_000);
  },
  ['sqlite', 'postgres'],
);

/**
 * Opens a transaction elsewhere that holds the conversation's session row; returns its release and a
 * count of the module's statements waiting in the database for that row.
 */
async function holdSessionRow(dialect: TestDialect, url: string, table: string, id: string) {
  if (dialect === 'postgres') {
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query('BEGIN');
    await c.query(`SELECT 1 FROM ${table} WHERE session_id = $1 FOR UPDATE`, [id]);
    return {
      /** The module's statements now waiting for a row lock on the tables of this test. */
      lockWaiters: async () =>
        Number(
          (
            await c.query(
              `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
              [`%${table}%`],
            )
          ).rows[0].n,
        ),
      release: async () => {
        await c.query('ROLLBACK');
        await c.end();
      },
    };
  }
  const c = await createConnection(url);
  await c.query('BEGIN');
  await c.query(`SELECT 1 FROM ${table} WHERE session_id = ? FOR UPDATE`, [id]);
  const probe = await createConnection(url);
  return {
    // MariaDB reports a primary-key FOR UPDATE waiting for its row lock in state "Statistics", not as an
    // InnoDB lock wait: count the module's statements naming the conversation (mysql2 inlines the values).
    lockWaiters: async () => {
      const [rows] = await probe.query(
        `SELECT COUNT(*) AS n FROM information_schema.processlist WHERE command = 'Query' AND id <> CONNECTION_ID() AND info LIKE ?`,
        [`%${id}%`],
      );
      return Number((rows as { n: number }[])[0].n);
    },
    release: async () => {
      await c.query('ROLLBACK');
      await c.end();
      await probe.end();
    },
  };
}

describeEachDialect(
  'A crowd on a stuck conversation, with the default limits',
  (dialect, url) => {
    const m = useMemory(dialect, url, { timeouts: { lockMs: 1000 } });

    it('200 callers behind a foreign lock: at most 2 wait in the database, all queue (none refused at once) and fail typed naming it; the others all succeed', async () => {
      const stuck = `stuck-crowd-${Date.now()}`;
      await m.memory.session(stuck).addItems([user('before')]);
      const held = await holdSessionRow(dialect, url, m.tables.sessions, stuck);
      let peakWaiters = 0;
      try {
        const onStuck = Promise.allSettled(
          Array.from({ length: 200 }, (_, i) => m.memory.session(stuck).addItems([user(`s${i}`)])),
        );
        let watching = true;
        const watch = (async () => {
          while (watching) {
            peakWaiters = Math.max(peakWaiters, await held.lockWaiters());
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        const onOthers = await Promise.allSettled(
          Array.from({ length: 30 }, (_, i) => m.memory.session(`other-${i}-${Date.now()}`).addItems([user(`o${i}`)])),
        );
        const stuckResults = await onStuck;
        watching = false;
        await watch;
        expect(onOthers.filter((r) => r.status === 'rejected')).toEqual([]);
        const reasons = stuckResults.map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));
        expect(reasons.filter((e) => !(e instanceof SessionStorageUnavailableError))).toEqual([]);
        const messages = reasons.map((e) => e?.message ?? '');
        // None refused for the crowd's size: they waited their turn, and the limiter failed them once
        // lockMs passed without the conversation moving (the ones that ran timed out on the lock itself).
        expect(messages.filter((t) => /operations are running and \d+ waiting\)/.test(t))).toEqual([]);
        const waitedOut = messages.filter((t) => t.includes(JSON.stringify(stuck)) && t.includes('timeouts.lockMs'));
        expect(waitedOut.length).toBeGreaterThanOrEqual(190);
      } finally {
        await held.release();
      }
      // The lock holder's connection aside, the stuck conversation never had more than 2 statements in the database.
      expect(peakWaiters).toBeGreaterThanOrEqual(1);
      expect(peakWaiters).toBeLessThanOrEqual(2);
      await m.memory.session(stuck).addItems([user('after')]);
      expect((await m.memory.session(stuck).getItems()).at(-1)).toEqual(user('after'));
    });
  },
  ['postgres', 'mariadb'],
);
