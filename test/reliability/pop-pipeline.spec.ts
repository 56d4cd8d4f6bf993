import { Client } from 'pg';
import type { SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { useMemory } from '../support/memory';

/**
 * PostgreSQL's pop is one round trip: two prepared statements (the session row locked, then the newest
 * row deleted) pipelined before one Sync, so one implicit transaction. What that must keep:
 * - the DELETE takes its snapshot once the lock is held, so it sees a row that the lock's holder
 *   committed while the pop waited (one snapshot for both would miss it and pop an older row);
 * - a pipeline cut off by an error (here the lock timeout) fails the pop with the module's error, and the
 *   pops after it work (the pool, of one connection, replaces the one that failed).
 */
describeEachDialect(
  'popItem as a pipeline of prepared statements',
  (_dialect, url) => {
    const m = useMemory('postgres', url, { dataSourceOptions: { extra: { max: 1 } } });
    // Another instance (tables of its own) with a short lock timeout, for the pop that must give up.
    const impatient = useMemory('postgres', url, {
      dataSourceOptions: { extra: { max: 1 } },
      timeouts: { lockMs: 300 },
    });
    let holder: Client;
    let admin: Client;
    beforeAll(async () => {
      holder = new Client({ connectionString: url });
      admin = new Client({ connectionString: url });
      await Promise.all([holder.connect(), admin.connect()]);
    });
    afterAll(async () => {
      await Promise.all([holder?.end(), admin?.end()]);
    });

    /** Takes the session row's lock in `holder`'s transaction (as every writer of the conversation does first). */
    async function lockConversation(id: string, sessions = m.tables.sessions): Promise<void> {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${sessions}" WHERE session_id = $1 FOR UPDATE`, [id]);
    }

    /** The backend of the pop waiting for a lock (the session row's, which `holder` has), once it waits (polled). */
    async function waitingPop(): Promise<void> {
      for (let i = 0; i < 200; i++) {
        const { rows } = await admin.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> $2`,
          [`%"${m.tables.sessions}"%`, (holder as unknown as { processID: number }).processID],
        );
        if (rows.length === 1) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('the pop never waited for the session row lock');
    }

    it('sees the row committed by the lock holder it waited for', async () => {
      const id = `pipe-wait-${Date.now().toString(36)}`;
      const session = m.memory.session(id);
      await session.addItems([user('one'), user('two')]);
      await lockConversation(id);
      await holder.query(`INSERT INTO "${m.tables.messages}" (session_id, message_data) VALUES ($1, $2)`, [
        id,
        JSON.stringify(user('three')),
      ]);
      const popped = m.memory.session(id).popItem();
      await waitingPop();
      await holder.query('COMMIT');
      expect(await popped).toEqual(user('three'));
      expect(await m.memory.session(id).getItems()).toEqual([user('one'), user('two')]);
    });

    it('after a pop that waited too long for the lock, the next pops work', async () => {
      const id = `pipe-timeout-${Date.now().toString(36)}`;
      const items: SessionItem[] = [user('a'), user('b'), user('c')];
      const pop = () => impatient.memory.session(id).popItem();
      await impatient.memory.session(id).addItems(items);
      expect(await pop()).toEqual(items[2]); // the statements prepared and known

      await lockConversation(id, impatient.tables.sessions);
      await expect(pop()).rejects.toThrow(/lock timeout/);
      await holder.query('ROLLBACK');

      expect(await pop()).toEqual(items[1]);
      expect(await pop()).toEqual(items[0]);
      expect(await pop()).toBeUndefined();
    });
  },
  ['postgres'],
);

/**
 * `pg`'s own pipeline mode (`pipeline: true` in the pool options, pg 8.23 and later) refuses custom
 * query classes: there the pop sends its two statements as a script of inlined values, as it did
 * before it was a pipeline of its own.
 */
describeEachDialect(
  "popItem on a pool in pg's pipeline mode",
  (_dialect, url) => {
    const m = useMemory('postgres', url, { dataSourceOptions: { extra: { pipeline: true } } });

    it('pops the newest items, one by one', async () => {
      const id = `pipe-mode-${Date.now().toString(36)}`;
      const items: SessionItem[] = [user('a'), user('b')];
      await m.memory.session(id).addItems(items);
      expect(await m.memory.session(id).popItem()).toEqual(items[1]);
      expect(await m.memory.session(id).popItem()).toEqual(items[0]);
      expect(await m.memory.session(id).popItem()).toBeUndefined();
    });
  },
  ['postgres'],
);
