import { Test } from '@nestjs/testing';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { SessionItem, SessionMemoryModule, SessionStorageUnavailableError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { PgCluster } from '../support/pg-cluster';
import { startMemory, TestMemory } from '../support/memory';
import { FreezableProxy } from '../support/freezable-proxy';
import { user } from '../support/items';
import { settle, waitFor } from '../support/outcomes';
import { everyIoCall } from '../support/io-calls';

/**
 * Fault injection on a private PostgreSQL cluster this file creates (initdb on a free loopback port),
 * stops, starts and whose backends it terminates. The shared server on 5432 is never touched.
 */
const APP = 'nsm-faults';
const describeIfPg = PgCluster.findBinDir() ? describe : describe.skip;

describeIfPg('faults on a private PostgreSQL cluster', () => {
  let cluster: PgCluster;
  let m: TestMemory;
  let n = 0;
  const conv = (prefix = 'c') => `${prefix}-${++n}`;

  /** Rows of a conversation, read on a connection of the test's own (not the module's pool). */
  const stored = async (id: string) =>
    (
      await cluster.query<{ message_data: string }>(
        `SELECT message_data FROM ${m.tables.messages} WHERE session_id = $1 ORDER BY id`,
        [id],
      )
    ).map((r) => JSON.parse(r.message_data) as SessionItem);

  /** Our module's backends, by state. */
  const backends = (where: string) =>
    cluster.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND ${where}`, [APP]);

  beforeAll(async () => {
    cluster = await PgCluster.create();
    m = await startMemory(cluster.url, {
      dataSourceOptions: { applicationName: APP },
      // Let every pooled connection reach the database for one conversation, as these faults need.
      limits: { maxConcurrentPerConversation: 20, maxQueuedPerConversation: 50 },
    });
  });
  afterAll(async () => {
    await m?.close().catch(() => undefined);
    await cluster?.destroy();
  });

  it('while the server is down every call fails with SessionStorageUnavailableError, and works again once it is back, same app', async () => {
    const id = conv();
    const session = m.memory.session(id);
    await session.addItems([user('before the outage')]);

    await cluster.stop('fast');
    try {
      const calls = everyIoCall(m.memory, session, { limit: 1, text: 'during the outage' });
      for (const [name, call] of calls) {
        const outcome = await settle(call());
        expect({ name, outcome: outcome.kind }).toEqual({ name, outcome: 'unavailable' });
        // the driver's error is kept for logs
        expect((outcome as { error: Error }).error.cause).toBeDefined();
      }
    } finally {
      await cluster.start();
    }

    // Same module, same pool: it reconnects by itself. Nothing from the outage was written.
    expect(await session.getItems()).toEqual([user('before the outage')]);
    await session.addItems([user('after the outage')]);
    await m.memory.ping();
    expect(await stored(id)).toEqual([user('before the outage'), user('after the outage')]);
  });

  it('pg_terminate_backend of every pooled connection while calls run: those fail with the typed error, the rest and later ones succeed', async () => {
    const id = conv();
    const session = m.memory.session(id);
    await session.addItems([user('first')]);
    // Hold the conversation's row lock, so that the adds below are all running (waiting in the
    // database, on every connection of the pool, or queued for one) when their backends are killed.
    const locker = new Client({ connectionString: cluster.url });
    locker.on('error', () => undefined);
    await locker.connect();
    const acknowledged: string[] = [];
    let outcomes: string[];
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${m.tables.sessions} WHERE session_id = $1 FOR UPDATE`, [id]);
      const pending = Array.from({ length: 14 }, async (_, i) => {
        const outcome = await settle(session.addItems([user(`during the kill ${i}`)]));
        if (outcome.kind === 'ok') acknowledged.push(`during the kill ${i}`);
        return outcome.kind;
      });
      const waiting = await waitFor(
        () => backends(`wait_event_type = 'Lock'`),
        (rows) => rows.length >= 5,
      );
      expect(await cluster.terminateBackends(APP)).toBeGreaterThanOrEqual(waiting.length);
      await locker.query('COMMIT');
      outcomes = await Promise.all(pending);
    } finally {
      await locker.end();
    }
    // Only the two typed outcomes; at least the calls whose backends were waiting were refused.
    expect(outcomes.filter((k) => k !== 'ok' && k !== 'unavailable')).toEqual([]);
    expect(outcomes.filter((k) => k === 'unavailable').length).toBeGreaterThanOrEqual(5);

    // The pool has replaced the dead connections: everything works again.
    for (let i = 0; i < 5; i++) await session.addItems([user(`later ${i}`)]);
    const contents = (await stored(id)).map((r) => (r as { content: string }).content);
    // Exactly what was acknowledged (a killed backend's transaction is rolled back). The concurrent adds
    // may commit in any order among themselves; the sequential ones keep theirs.
    expect(contents[0]).toBe('first');
    expect(contents.slice(1, -5).sort()).toEqual([...acknowledged].sort());
    expect(contents.slice(-5)).toEqual(Array.from({ length: 5 }, (_, i) => `later ${i}`));
  });

  it('a call whose backend is killed while it waits for a lock fails with the typed error and writes nothing', async () => {
    const id = conv();
    const session = m.memory.session(id);
    await session.addItems([user('first')]);
    const locker = new Client({ connectionString: cluster.url });
    locker.on('error', () => undefined); // the cluster may go away under it when a test fails
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${m.tables.sessions} WHERE session_id = $1 FOR UPDATE`, [id]);
      const pending = settle(session.addItems([user('blocked 1'), user('blocked 2')]));
      const [waiting] = await waitFor(
        () => backends(`wait_event_type = 'Lock'`),
        (rows) => rows.length === 1,
      );
      await cluster.query('SELECT pg_terminate_backend($1)', [waiting.pid]);
      expect((await pending).kind).toBe('unavailable');
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect(await session.getItems()).toEqual([user('first')]);
    await session.addItems([user('second')]);
    expect(await stored(id)).toEqual([user('first'), user('second')]);
  });

  describe('a batch interrupted in the middle of its statement leaves all of it or none', () => {
    // A row trigger that sleeps on the item marked "slow": the batch is then half inserted, in one
    // open statement, when the test kills it.
    beforeAll(async () => {
      await cluster.query(`
        CREATE OR REPLACE FUNCTION nsm_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.message_data LIKE '%"slow":true%' THEN PERFORM pg_sleep(60); END IF;
          RETURN NEW;
        END $$`);
      await cluster.query(
        `CREATE TRIGGER nsm_slow BEFORE INSERT ON ${m.tables.messages} FOR EACH ROW EXECUTE FUNCTION nsm_slow_insert()`,
      );
    });
    afterAll(async () => {
      await cluster.query(`DROP TRIGGER IF EXISTS nsm_slow ON ${m.tables.messages}`).catch(() => undefined);
    });

    const batch = () => [
      ...Array.from({ length: 5 }, (_, i) => user(`batch ${i}`)),
      { ...user('batch 5'), slow: true } as unknown as SessionItem,
      ...Array.from({ length: 4 }, (_, i) => user(`batch ${6 + i}`)),
    ];
    const sleepingBackend = () =>
      waitFor(
        () => backends(`wait_event = 'PgSleep'`),
        (rows) => rows.length === 1,
      );

    it('killed backend: none of it', async () => {
      const id = conv();
      const session = m.memory.session(id);
      await session.addItems([user('history')]);
      const pending = settle(session.addItems(batch()));
      const [sleeping] = await sleepingBackend();
      // Half of the batch is inserted, uncommitted, right now.
      await cluster.query('SELECT pg_terminate_backend($1)', [sleeping.pid]);
      expect((await pending).kind).toBe('unavailable');
      expect(await stored(id)).toEqual([user('history')]);
      expect(await session.getItems()).toEqual([user('history')]);
    });

    it('server stopped (immediate, i.e. a crash) and restarted: none of it', async () => {
      const id = conv();
      const session = m.memory.session(id);
      await session.addItems([user('history')]);
      const pending = settle(session.addItems(batch()));
      await sleepingBackend();
      await cluster.stop('immediate');
      expect((await pending).kind).toBe('unavailable');
      await cluster.start();
      expect(await stored(id)).toEqual([user('history')]);
      expect(await session.getItems()).toEqual([user('history')]);
    });

    it('and all of it when it is left to finish', async () => {
      const id = conv();
      const session = m.memory.session(id);
      await cluster.query(`ALTER TABLE ${m.tables.messages} DISABLE TRIGGER nsm_slow`);
      try {
        await session.addItems(batch());
      } finally {
        await cluster.query(`ALTER TABLE ${m.tables.messages} ENABLE TRIGGER nsm_slow`);
      }
      expect(await stored(id)).toEqual(batch());
    });
  });

  it('statement timeout: a statement running longer than timeouts.statementMs fails with the typed error', async () => {
    const slow = await startMemory(cluster.url, {
      timeouts: { statementMs: 300 },
      dataSourceOptions: { applicationName: APP },
    });
    try {
      const id = conv();
      await slow.memory.session(id).addItems([user('ok')]);
      await cluster.query(`
        CREATE OR REPLACE FUNCTION nsm_slow_read() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$`);
      await cluster.query(
        `CREATE TRIGGER nsm_slow_all BEFORE INSERT ON ${slow.tables.messages} FOR EACH ROW EXECUTE FUNCTION nsm_slow_read()`,
      );
      const outcome = await settle(slow.memory.session(id).addItems([user('too slow')]));
      expect(outcome.kind).toBe('unavailable');
      expect(((outcome as { error: Error }).error.cause as { code?: string }).code).toBe('57014'); // query_canceled by statement_timeout
      expect(await slow.memory.session(id).getItems()).toEqual([user('ok')]);
    } finally {
      await slow.close();
    }
  });

  it('a network partition (no answer, no reset) makes calls fail after the timeouts instead of hanging; they work again once it heals', async () => {
    const proxy = await FreezableProxy.start(cluster.port);
    const url = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;
    const cut = await startMemory(url, {
      timeouts: { statementMs: 300, connectMs: 300 },
      dataSourceOptions: { applicationName: APP },
    });
    try {
      const id = conv();
      const session = cut.memory.session(id);
      await session.addItems([user('before the partition')]);
      await Promise.all([1, 2, 3].map(() => session.getItems())); // some idle pooled connections

      proxy.freeze();
      // On a pooled connection (client-side query timeout) and on new ones (connection timeout).
      const outcomes = await Promise.all([
        settle(session.getItems()),
        settle(session.addItems([user('during the partition')])),
        settle(cut.memory.ping()),
        ...Array.from({ length: 12 }, () => settle(session.getItems(1))),
      ]);
      expect(outcomes.map((o) => o.kind)).toEqual(Array(15).fill('unavailable'));

      proxy.thaw();
      await waitFor(
        () => settle(cut.memory.ping()),
        (o) => o.kind === 'ok',
      );
      await session.addItems([user('after the partition')]);
      const contents = (await cut.memory.session(id).getItems()).map((r) => (r as { content: string }).content);
      expect(contents[0]).toBe('before the partition');
      expect(contents[contents.length - 1]).toBe('after the partition');
    } finally {
      await proxy.close();
      await cut.module.close().catch(() => undefined);
    }
  });

  it('startup while the server is down fails with SessionStorageUnavailableError naming the fix', async () => {
    await cluster.stop('fast');
    try {
      const attempt = Test.createTestingModule({
        imports: [
          SessionMemoryModule.forRoot({
            url: cluster.url,
            createTables: true,
            tables: { sessions: 'never_s', messages: 'never_m' },
          }),
        ],
      }).compile();
      await expect(attempt).rejects.toBeInstanceOf(SessionStorageUnavailableError);
      await expect(attempt).rejects.toThrow(/Check that the database is running/);
    } finally {
      await cluster.start();
    }
  });

  it('close() while calls wait for a free pool connection: the gate drains them, then the pool is ended; none is left pending', async () => {
    // One connection, no connection or lock timeout: the calls would wait for ever without the drain.
    const tiny = await startMemory(cluster.url, {
      timeouts: { connectMs: 0, lockMs: 0 },
      dataSourceOptions: { applicationName: APP, extra: { max: 1 } },
    });
    const pool = (tiny.memory.dataSource.driver as any).master as { waitingCount: number; totalCount: number };
    const id = conv();
    await tiny.memory.session(id).addItems([user('first')]);
    const locker = new Client({ connectionString: cluster.url });
    locker.on('error', () => undefined); // the cluster may go away under it when a test fails
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM ${tiny.tables.sessions} WHERE session_id = $1 FOR UPDATE`, [id]);
    let closed = false;
    try {
      // The pool's only connection waits for the row lock; five more calls wait for that connection.
      const holder = settle(tiny.memory.session(id).addItems([user('holder')]));
      await waitFor(
        () => backends(`wait_event_type = 'Lock'`),
        (rows) => rows.length === 1,
      );
      const waiters = Array.from({ length: 5 }, (_, i) =>
        settle(tiny.memory.session(`${id}-other-${i}`).addItems([user(`waiter ${i}`)])),
      );
      await waitFor(
        async () => pool.waitingCount,
        (count) => count === 5,
      );

      const closing = tiny.module.close().then(() => (closed = true));
      const gate = (tiny.memory as any).context.gate as { isClosing: boolean };
      await waitFor(
        async () => gate.isClosing,
        (v) => v,
      );
      // Refused now that the module is draining ...
      expect((await settle(tiny.memory.session(id).getItems())).kind).toBe('unavailable');
      // ... and close() waits for the calls already running.
      expect(closed).toBe(false);
      await locker.query('COMMIT');
      const outcomes = await Promise.all([holder, ...waiters]);
      expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
      await closing;
      expect(tiny.memory.dataSource.isInitialized).toBe(false);
    } finally {
      await locker.end().catch(() => undefined);
      if (!closed) await tiny.module.close().catch(() => undefined);
    }
    const rows = await cluster.query<{ session_id: string; message_data: string }>(
      `SELECT session_id, message_data FROM ${tiny.tables.messages} ORDER BY id`,
    );
    expect(rows.filter((r) => r.session_id === id).map((r) => JSON.parse(r.message_data))).toEqual([
      user('first'),
      user('holder'),
    ]);
    expect(rows.filter((r) => r.session_id !== id)).toHaveLength(5);
  });
});

/**
 * MariaDB: a write transaction of the module killed in the middle (KILL of our own connection, or KILL
 * QUERY of its statement), found by the test's unique table name so that no other client is touched.
 * The store's append is several statements in one transaction (lock the session row, touch it,
 * insert the batch); a kill in the insert leaves none of the batch.
 */
describeEachDialect(
  'faults: a MariaDB write killed mid-transaction',
  (_dialect, url) => {
    let m: TestMemory;
    let admin: Awaited<ReturnType<typeof createConnection>>;
    let n = 0;
    beforeAll(async () => {
      m = await startMemory(url);
      admin = await createConnection({ uri: url });
      await admin.query(
        `CREATE TRIGGER ${m.tables.messages}_slow BEFORE INSERT ON ${m.tables.messages} FOR EACH ROW ` +
          // The processlist shows this statement while it sleeps: the variable name carries our unique table name.
          `SET @${m.tables.messages}_slept = IF(NEW.message_data LIKE '%"slow":true%', SLEEP(30), 0)`,
      );
    });
    afterAll(async () => {
      await admin?.end();
      await m?.close();
    });

    /** Our own connection, sleeping in the trigger (matched by this test's unique table name). */
    const sleeper = () =>
      waitFor(
        async () =>
          (
            await admin.query(
              `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep' AND INFO LIKE ?`,
              [`%${m.tables.messages}%`],
            )
          )[0] as { id: number }[],
        (rows) => rows.length === 1,
      );
    const batch = () =>
      Array.from({ length: 10 }, (_, i) =>
        i === 5 ? ({ ...user(`batch ${i}`), slow: true } as unknown as SessionItem) : user(`batch ${i}`),
      );

    it.each(['KILL CONNECTION', 'KILL QUERY'])(
      '%s in the middle of a batch: typed error, none of it is written, then writes work',
      async (kill) => {
        const id = `killed-${++n}`;
        const session = m.memory.session(id);
        await session.addItems([user('history')]);
        const pending = settle(session.addItems(batch()));
        const [{ id: connectionId }] = await sleeper();
        await admin.query(`${kill} ${Number(connectionId)}`);
        expect((await pending).kind).toBe('unavailable');
        expect(await session.getItems()).toEqual([user('history')]);
        await session.addItems([user('after')]);
        expect(await session.getItems()).toEqual([user('history'), user('after')]);
      },
    );
  },
  ['mariadb'],
);
