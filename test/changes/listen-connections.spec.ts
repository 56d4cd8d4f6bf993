import { Client } from 'pg';
import { firstValueFrom } from 'rxjs';
import { TEST_URLS, describeEachDialect, uniqueSuffix } from '../support/databases';
import { TestMemory, startMemory } from '../support/memory';
import { user } from '../support/items';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The LISTEN connection of one module instance (opened outside the pool, with the pool's settings):
 * at most one at any time, whatever subscribers do. Counted in pg_stat_activity by the instance's
 * own application_name: its backends that are the listener (last statement LISTEN) or still starting
 * (no statement yet); the pooled connections, warmed up first, show their last query instead.
 */
describeEachDialect(
  'the LISTEN connection under subscription churn',
  () => {
    let m: TestMemory;
    let other: TestMemory;
    let observer: Client;
    const app = `nsm-listen-${uniqueSuffix()}`;

    const listeners = async () =>
      Number(
        (
          await observer.query(
            `SELECT COUNT(*)::int AS n FROM pg_stat_activity
             WHERE application_name = $1 AND (query LIKE 'LISTEN %' OR query = '')`,
            [app],
          )
        ).rows[0].n,
      );

    beforeAll(async () => {
      m = await startMemory(TEST_URLS.postgres, {
        changes: { notify: true },
        dataSourceOptions: { applicationName: app },
      });
      other = await startMemory(TEST_URLS.postgres, { changes: { notify: true } }, m.tables);
      observer = new Client({ connectionString: TEST_URLS.postgres });
      await observer.connect();
      // Warm the pool up: its connections have run a query, so they are not counted.
      await Promise.all(Array.from({ length: 10 }, (_, i) => m.memory.session(`warm-${i}`).getItems()));
    });
    afterAll(async () => {
      await observer?.end();
      await other?.close();
      await m?.close();
    });

    it('25 quick subscribe/unsubscribe cycles, several at once, never open a second listening connection', async () => {
      let max = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          max = Math.max(max, await listeners());
          await sleep(2);
        }
      })();
      try {
        const cycle = async (worker: number) => {
          for (let i = 0; i < 25; i++) {
            const sub = m.memory.changes$(`churn-${worker}-${i % 3}`).subscribe();
            await sleep((i * 7 + worker * 3) % 15);
            sub.unsubscribe();
            await sleep((i * 5 + worker) % 10);
          }
        };
        // Back to back, without waiting (as a client reconnecting in a loop does) ...
        for (let i = 0; i < 25; i++) m.memory.changes$(`burst-${i}`).subscribe().unsubscribe();
        await sleep(50);
        // ... and several callers at once, with short pauses.
        await Promise.all([0, 1, 2, 3].map(cycle));
        // Then held long enough to see the connection up.
        const held = m.memory.changes$('held').subscribe();
        for (let i = 0; i < 500 && (await listeners()) < 1; i++) await sleep(10);
        max = Math.max(max, await listeners());
        held.unsubscribe();
      } finally {
        sampling = false;
        await sampler;
      }
      expect(max).toBe(1);
      // Closed after the last subscriber left (after a short debounce).
      for (let i = 0; i < 500 && (await listeners()) > 0; i++) await sleep(10);
      expect(await listeners()).toBe(0);
    });

    it('the one connection still delivers remote changes after the churn', async () => {
      for (let i = 0; i < 10; i++) m.memory.changes$(`again-${i}`).subscribe().unsubscribe();
      const id = `after-churn-${Date.now()}`;
      const held = m.memory.changes$(id).subscribe();
      const seen = firstValueFrom(m.memory.changes$(id));
      let done = false;
      void seen.then(() => (done = true));
      for (let i = 0; i < 500 && !done; i++) {
        await other.memory.session(id).addItems([user(`write ${i}`)]);
        await sleep(5);
      }
      expect((await seen).origin).toBe('remote');
      expect(await listeners()).toBe(1);
      held.unsubscribe();
    });
  },
  ['postgres'],
);
