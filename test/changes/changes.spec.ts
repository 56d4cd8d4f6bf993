import { Controller, INestApplication, MessageEvent, Module, Param, Sse } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { get } from 'http';
import { AddressInfo } from 'net';
import { Observable, firstValueFrom, map, take, toArray } from 'rxjs';
import {
  ConversationChange,
  SessionItem,
  SessionMemoryConfigurationError,
  SessionMemoryModule,
  SessionMemoryService,
} from '../../lib';
import { changeChannel } from '../../lib/changes/postgres-change-relay';
import { TEST_URLS, describeEachDialect, uniqueSuffix } from '../support/databases';
import { startMemory, urlFor, useMemory, useMemoryPair } from '../support/memory';
import { user, functionCall } from '../support/items';
import { dropSessionTables, ignoreDropError } from '../support/tables';

/** Collects what an observable emits until `count` values arrived. */
function collect<T>(source: Observable<T>, count: number): Promise<T[]> {
  return firstValueFrom(source.pipe(take(count), toArray()));
}

/** Strips what tests do not compare. */
const brief = (c: ConversationChange) =>
  c.type === 'added'
    ? { type: c.type, items: c.items, origin: c.origin }
    : c.type === 'popped'
      ? { type: c.type, item: c.item, origin: c.origin }
      : { type: c.type, origin: c.origin };

describeEachDialect('changes$ within one process', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);

  it('reports added, popped and cleared of one conversation, in order, and nothing of others', async () => {
    const id = `watch-${Date.now()}`;
    const got = collect(m.memory.changes$(id), 7);
    const s = m.memory.session(id);
    await m.memory.session(`${id}-other`).addItems([user('elsewhere')]);
    await s.addItems([user('a'), user('b')]);
    expect(await s.popItem()).toEqual(user('b'));
    await s.addItems([user('c')], { metadata: { userId: 'u1' } });
    await s.applyHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'replace_suffix', expectedSuffix: [user('c')], replacement: [user('d')] },
    });
    await s.clearSession();
    await s.addItems([user('e')]);
    await m.memory.deleteSession(id);
    expect((await got).map(brief)).toEqual([
      { type: 'added', items: [user('a'), user('b')], origin: 'local' },
      { type: 'popped', item: user('b'), origin: 'local' },
      { type: 'added', items: [user('c')], origin: 'local' },
      { type: 'popped', item: user('c'), origin: 'local' },
      { type: 'added', items: [user('d')], origin: 'local' },
      { type: 'cleared', origin: 'local' },
      { type: 'added', items: [user('e')], origin: 'local' },
    ]);
  });

  it('reports a compaction and a history mutation as cleared, then added with the whole new history', async () => {
    const id = `watch-compact-${Date.now()}`;
    const got = collect(m.memory.changes$(id), 5);
    const s = m.memory.session(id);
    const summary = { type: 'compaction', encrypted_content: 'sum' } as SessionItem;
    const call = (args: string) => functionCall('c1', args, 'f');
    await s.addItems([user('a'), call('{}')]);
    await s.replaceHistoryWithCompaction([summary, call('{}')]);
    await s.applyHistoryMutations({
      mutations: [{ type: 'replace_function_call', callId: 'c1', replacement: call('{"x":1}') as never }],
    });
    expect((await got).map(brief)).toEqual([
      { type: 'added', items: [user('a'), call('{}')], origin: 'local' },
      { type: 'cleared', origin: 'local' },
      { type: 'added', items: [summary, call('{}')], origin: 'local' },
      { type: 'cleared', origin: 'local' },
      { type: 'added', items: [summary, call('{"x":1}')], origin: 'local' },
    ]);
    expect(await s.getItems()).toEqual([summary, call('{"x":1}')]);
  });

  it('reports purged conversations as cleared, and completes subscriptions at shutdown', async () => {
    const other = await startMemory(urlFor(dialect, baseUrl));
    const id = `purged-${Date.now()}`;
    await other.memory.session(id).addItems([user('x')]);
    await other.sql(`UPDATE ${other.tables.sessions} SET updated_at = ? WHERE session_id = ?`, [
      '2001-01-01 00:00:00',
      id,
    ]);
    const events: ConversationChange[] = [];
    let completed = false;
    other.memory.changes$(id).subscribe({ next: (e) => events.push(e), complete: () => (completed = true) });
    expect(await other.memory.purgeExpired({ idleFor: '1d' })).toBe(1);
    expect(events.map(brief)).toEqual([{ type: 'cleared', origin: 'local' }]);
    await other.close();
    expect(completed).toBe(true);
  });

  it('can be returned from an @Sse() handler', async () => {
    @Controller('conversations')
    class ChangesController {
      constructor(private readonly memory: SessionMemoryService) {}
      @Sse(':id/changes')
      changes(@Param('id') id: string): Observable<MessageEvent> {
        return this.memory.changes$(id).pipe(map((change): MessageEvent => ({ type: change.type, data: change })));
      }
    }
    const suffix = uniqueSuffix();
    @Module({
      imports: [
        SessionMemoryModule.forRoot({
          url: urlFor(dialect, baseUrl),
          createTables: true,
          tables: { sessions: `t_sse_s_${suffix}`, messages: `t_sse_m_${suffix}` },
        }),
      ],
      controllers: [ChangesController],
    })
    class AppModule {}
    const app: INestApplication = (
      await Test.createTestingModule({ imports: [AppModule] }).compile()
    ).createNestApplication();
    await app.listen(0);
    const memory = app.get(SessionMemoryService);
    try {
      const port = (app.getHttpServer().address() as AddressInfo).port;
      const body = await new Promise<string>((resolve, reject) => {
        const req = get(
          { port, path: '/conversations/sse-1/changes', headers: { accept: 'text/event-stream' } },
          (res) => {
            expect(res.headers['content-type']).toMatch(/text\/event-stream/);
            let text = '';
            res.on('data', (chunk) => {
              text += chunk;
              if (text.includes('event: popped')) {
                req.destroy();
                resolve(text);
              }
            });
            // The stream is open (headers sent): write to the conversation.
            void (async () => {
              await memory.session('sse-1').addItems([user('hello SSE')]);
              await memory.session('sse-1').popItem();
            })().catch(reject);
          },
        );
        req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
      });
      expect(body).toContain('event: added');
      expect(body).toContain('"items":[{"role":"user","content":"hello SSE"}]');
      expect(body).toContain('event: popped');
    } finally {
      await dropSessionTables(
        memory.dataSource,
        { sessions: `t_sse_s_${suffix}`, messages: `t_sse_m_${suffix}` },
        ignoreDropError,
      );
      await app.close();
    }
  });

  if (dialect === 'sqlite' || dialect === 'mariadb') {
    it('refuses changes.notify (PostgreSQL only) at startup with a fix-it message', async () => {
      await expect(startMemory(urlFor(dialect, baseUrl), { changes: { notify: true } })).rejects.toBeInstanceOf(
        SessionMemoryConfigurationError,
      );
    });
  }
});

describeEachDialect(
  'changes$ across instances (PostgreSQL LISTEN/NOTIFY)',
  () => {
    const [a, b] = useMemoryPair(
      'postgres',
      TEST_URLS.postgres,
      { changes: { notify: true } },
      { changes: { notify: true } },
    );

    /**
     * Subscribes on instance A and waits until A's LISTEN connection is up: instance B writes to a
     * probe conversation until A reports it (NOTIFYs sent before LISTEN runs are not delivered).
     */
    async function whenListening(id: string): Promise<void> {
      const probe = `${id}-probe`;
      const seen = firstValueFrom(a.memory.changes$(probe));
      let done = false;
      void seen.then(() => (done = true));
      for (let i = 0; i < 500 && !done; i++) {
        await b.memory.session(probe).addItems([user(`probe ${i}`)]);
        await new Promise((r) => setImmediate(r));
      }
      expect((await seen).origin).toBe('remote');
    }

    it('reports writes made by another instance; added items are re-read, own notifications are not doubled', async () => {
      const id = `remote-${Date.now()}`;
      const events: ConversationChange[] = [];
      const sub = a.memory.changes$(id).subscribe((e) => events.push(e));
      try {
        await whenListening(id);
        // Each step waits for A to report it: a remote `added` is re-read when its notification
        // arrives, so a later write racing that read would change what it sees (documented).
        const step = async (write: () => Promise<unknown>) => {
          const next = firstValueFrom(a.memory.changes$(id));
          await write();
          return brief(await next);
        };
        expect(await step(() => b.memory.session(id).addItems([user('from b 1'), user('from b 2')]))).toEqual({
          type: 'added',
          items: [user('from b 1'), user('from b 2')],
          origin: 'remote',
        });
        expect(await step(() => b.memory.session(id).popItem())).toEqual({
          type: 'popped',
          item: undefined,
          origin: 'remote',
        });
        expect(await step(() => a.memory.session(id).addItems([user('from a')]))).toEqual({
          type: 'added',
          items: [user('from a')],
          origin: 'local',
        });
        expect(await step(() => b.memory.session(id).clearSession())).toEqual({ type: 'cleared', origin: 'remote' });
        expect(await step(() => b.memory.session(id).addItems([user('after clear')]))).toEqual({
          type: 'added',
          items: [user('after clear')],
          origin: 'remote',
        });
        // Nothing was reported twice (A's own NOTIFY is ignored on receipt).
        await step(() => b.memory.session(id).addItems([user('last')]));
        expect(events.map((e) => `${e.type}:${e.origin}`)).toEqual([
          'added:remote',
          'popped:remote',
          'added:local',
          'cleared:remote',
          'added:remote',
          'added:remote',
        ]);
      } finally {
        sub.unsubscribe();
      }
    });

    it('closes the LISTEN connection when the last subscriber leaves and at shutdown', async () => {
      // Backends whose last statement was LISTEN on this tables' channel: the dedicated connections.
      const listen = `LISTEN "${changeChannel({ ...a.tables })}"`;
      const channelListeners = async () =>
        Number(
          (
            await a.sql(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE query = ? AND pid <> pg_backend_pid()`, [
              listen,
            ])
          )[0].n,
        );
      // Connections close asynchronously on the server side: wait (bounded) for the count to settle.
      const waitFor = async (want: number) => {
        for (let i = 0; i < 200 && (await channelListeners()) !== want; i++)
          await new Promise((r) => setTimeout(r, 10));
        return channelListeners();
      };
      const c = await startMemory(TEST_URLS.postgres, { changes: { notify: true } }, a.tables);
      const before = await waitFor(0);
      const sub = c.memory.changes$('listen-check').subscribe();
      expect(await waitFor(before + 1)).toBe(before + 1);
      sub.unsubscribe();
      expect(await waitFor(before)).toBe(before);
      c.memory.changes$('listen-again').subscribe();
      expect(await waitFor(before + 1)).toBe(before + 1);
      await c.close(); // completes the subscription and ends the connection
      expect(await waitFor(before)).toBe(before);
    });
  },
  ['postgres'],
);
