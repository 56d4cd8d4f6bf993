import { MemorySession, UserError } from '@openai/agents-core';
import {
  ConversationSession,
  InvalidHistoryMutationError,
  InvalidHistoryTransactionError,
  InvalidSessionItemsError,
  SessionItem,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory, useMemoryPair } from '../support/memory';
import { user, compaction, functionCall } from '../support/items';

const result = (callId: string): SessionItem =>
  ({
    type: 'function_call_result',
    callId,
    name: 'lookup',
    status: 'completed',
    output: { type: 'text', text: 'ok' },
  }) as SessionItem;

/** A short label per item. */
const label = (items: SessionItem[]) =>
  items.map((i) => {
    const x = i as {
      type?: string;
      content?: unknown;
      encrypted_content?: string;
      callId?: string;
      arguments?: string;
    };
    if (x.type === 'compaction') return `[${x.encrypted_content}]`;
    if (x.type === 'function_call') return `call:${x.callId}:${x.arguments}`;
    if (x.type === 'function_call_result') return `result:${x.callId}`;
    return String(x.content);
  });

describeEachDialect('What the Agents SDK runner needs of a session', (dialect, baseUrl) => {
  let n = 0;
  const fresh = (): ConversationSession => a.memory.session(`exact-${++n}-${Date.now()}`);

  const [a, b] = useMemoryPair(dialect, baseUrl);

  describe('clearSession keeps the conversation', () => {
    it('keeps its createdAt, metadata and operation log; only the items go', async () => {
      const s = fresh();
      await s.setMetadata({ tenant: 't1' });
      await s.applyHistoryTransaction({
        operationId: 'op-1',
        transaction: { type: 'append_items', items: [user('one')] },
      });
      const before = await a.memory.getSession(s.conversationId);
      await s.clearSession();
      expect(await s.getItems()).toEqual([]);
      expect(await s.getMetadata()).toEqual({ tenant: 't1' });
      const after = await a.memory.getSession(s.conversationId);
      expect(after.createdAt).toEqual(before.createdAt);
      expect(after.itemCount).toBe(0);
      // The operation log stayed: a retry of op-1 is a replay, not a second append.
      await s.applyHistoryTransaction({
        operationId: 'op-1',
        transaction: { type: 'append_items', items: [user('one')] },
      });
      expect(await s.getItems()).toEqual([]);
    });

    it('of an unknown conversation creates nothing', async () => {
      const s = fresh();
      await s.clearSession();
      expect(await a.sql(`SELECT * FROM ${a.tables.sessions} WHERE session_id = ?`, [s.conversationId])).toHaveLength(
        0,
      );
    });
  });

  describe('replaceHistoryWithCompaction', () => {
    it('replaces the history and keeps the row, createdAt and metadata', async () => {
      const s = fresh();
      await s.addItems([user('a'), user('b'), user('c')], { metadata: { tenant: 't1' } });
      const before = await a.memory.getSession(s.conversationId);
      await s.getItems();
      await s.replaceHistoryWithCompaction([compaction('1'), user('c')]);
      expect(label(await s.getItems())).toEqual(['[summary 1]', 'c']);
      expect(await s.getMetadata()).toEqual({ tenant: 't1' });
      expect((await a.memory.getSession(s.conversationId)).createdAt).toEqual(before.createdAt);
    });

    it('refuses items that do not start with a compaction item, or are not storable, writing nothing', async () => {
      const s = fresh();
      await s.addItems([user('kept')]);
      await expect(s.replaceHistoryWithCompaction([user('x')])).rejects.toBeInstanceOf(InvalidSessionItemsError);
      await expect(
        s.replaceHistoryWithCompaction([compaction('1'), { role: 'user', content: 1n } as unknown as SessionItem]),
      ).rejects.toBeInstanceOf(InvalidSessionItemsError);
      expect(label(await s.getItems())).toEqual(['kept']);
    });

    it('readers in another instance see the old history or the new one, never a mix or []', async () => {
      const s = fresh();
      const original = Array.from({ length: 30 }, (_, i) => user(`m${i}`));
      await s.addItems(original);
      const valid = new Map<string, number>([['m0', original.length]]); // first label -> its full length
      let done = false;
      const seen: SessionItem[][] = [];
      const reader = (async () => {
        const r = b.memory.session(s.conversationId);
        while (!done) seen.push(await r.getItems());
      })();
      for (let k = 0; k < 15; k++) {
        const replacement = [compaction(`${k}`), ...Array.from({ length: 5 + (k % 7) }, (_, i) => user(`k${k}-${i}`))];
        valid.set(`[summary ${k}]`, replacement.length);
        await s.replaceHistoryWithCompaction(replacement);
      }
      done = true;
      await reader;
      expect(seen.length).toBeGreaterThan(0);
      for (const items of seen) {
        const labels = label(items);
        expect(labels.length).toBeGreaterThan(0);
        expect(valid.get(labels[0])).toBe(labels.length);
      }
    });

    it('an item added concurrently by another instance lands wholly before or after, and is never lost', async () => {
      for (let round = 0; round < 12; round++) {
        const s = fresh();
        await s.addItems([user('old-1'), user('old-2')]);
        await s.getItems(); // what the runner compacts from
        const other = b.memory.session(s.conversationId);
        await Promise.all([
          s.replaceHistoryWithCompaction([compaction(`${round}`), user('old-2')]),
          other.addItems([user('concurrent-1'), user('concurrent-2')]),
        ]);
        const labels = label(await s.getItems());
        // Either the add came after the compaction, or it came first and was kept after it: the same.
        expect(labels).toEqual([`[summary ${round}]`, 'old-2', 'concurrent-1', 'concurrent-2']);
      }
    });

    it('keeps what this session added after its read, without duplicating it', async () => {
      const s = fresh();
      await s.addItems([user('a')]);
      await s.getItems();
      await s.addItems([user('b')]); // tracked: it is part of what this session knows
      await s.replaceHistoryWithCompaction([compaction('x'), user('b')]);
      expect(label(await s.getItems())).toEqual(['[summary x]', 'b']);
    });
  });

  describe('applyHistoryMutations (replace_function_call), as MemorySession does it', () => {
    const history = () => [
      user('q'),
      functionCall('c1', '{"v":1}'),
      result('c1'),
      functionCall('c2'),
      functionCall('c1', '{"v":9}'),
    ];
    const mutation = {
      mutations: [
        {
          type: 'replace_function_call' as const,
          callId: 'c1',
          replacement: functionCall('c1', '{"v":2}') as Extract<SessionItem, { type: 'function_call' }>,
        },
      ],
    };

    it('gives the same history as MemorySession', async () => {
      const s = fresh();
      await s.addItems(history());
      const oracle = new MemorySession({ initialItems: history() });
      await s.applyHistoryMutations(mutation);
      await oracle.applyHistoryMutations(mutation);
      expect(await s.getItems()).toEqual(await oracle.getItems());
      expect(label(await s.getItems())).toEqual(['q', 'call:c1:{"v":2}', 'result:c1', 'call:c2:{}']);
    });

    it('changes nothing when no call matches, and refuses malformed arguments before any I/O', async () => {
      const s = fresh();
      await s.addItems(history());
      await s.applyHistoryMutations({
        mutations: [{ ...mutation.mutations[0], callId: 'nope' }],
      });
      expect(await s.getItems()).toEqual(history());
      for (const bad of [
        {},
        { mutations: [{ type: 'delete_everything', callId: 'c1' }] },
        { mutations: [{ type: 'replace_function_call', callId: '', replacement: functionCall('c1') }] },
        { mutations: [{ type: 'replace_function_call', callId: 'c1', replacement: user('not a call') }] },
      ]) {
        await expect(s.applyHistoryMutations(bad as never)).rejects.toBeInstanceOf(InvalidHistoryMutationError);
      }
      expect(await s.getItems()).toEqual(history());
    });
  });

  describe('applyHistoryTransaction refuses what MemorySession refuses', () => {
    const item = () => user('x');
    const cases: [string, () => unknown][] = [
      ['an extra field in the transaction', () => ({ type: 'append_items', items: [item()], extra: 1 })],
      ['a Proxy-wrapped items array', () => ({ type: 'append_items', items: new Proxy([item()], {}) })],
      [
        'a non-enumerable providerData',
        () => {
          const i = item();
          Object.defineProperty(i, 'providerData', { value: { secret: 1 }, enumerable: false });
          return { type: 'append_items', items: [i] };
        },
      ],
      ['an item that is not a model item', () => ({ type: 'append_items', items: [{ type: 'banana' }] })],
      [
        'a getter',
        () => ({
          type: 'append_items',
          get items() {
            return [item()];
          },
        }),
      ],
    ];

    it.each(cases)('%s', async (_name, make) => {
      const oracle = new MemorySession();
      await expect(
        oracle.applyHistoryTransaction({ operationId: 'op', transaction: make() as never }),
      ).rejects.toBeInstanceOf(UserError);
      const s = fresh();
      await expect(
        s.applyHistoryTransaction({ operationId: 'op', transaction: make() as never }),
      ).rejects.toBeInstanceOf(InvalidHistoryTransactionError);
      expect(await s.getItems()).toEqual([]);
    });

    it('and accepts what it accepts', async () => {
      const transaction = { type: 'append_items' as const, items: [item(), functionCall('c9'), result('c9')] };
      const oracle = new MemorySession();
      await oracle.applyHistoryTransaction({ operationId: 'op', transaction });
      const s = fresh();
      await s.applyHistoryTransaction({ operationId: 'op', transaction });
      expect(await s.getItems()).toEqual(await oracle.getItems());
    });
  });

  describe('sizes real agent runs need', () => {
    const MiB = 1024 * 1024;
    /**
     * A function_call_result whose output text is `bytes` long: source code (quotes and newlines, which
     * JSON and then MySQL escape), or base64 like a screenshot.
     */
    const bigResult = (callId: string, bytes: number, kind: 'code' | 'base64' = 'code'): SessionItem => {
      const unit = kind === 'code' ? 'const s = "hello";\n' : 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB';
      return {
        type: 'function_call_result',
        callId,
        name: 'read_file',
        status: 'completed',
        output: { type: 'text', text: unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes) },
      } as SessionItem;
    };

    it.each(['code', 'base64'] as const)('stores a 10 MiB tool output (%s) and reads it back exactly', async (kind) => {
      const s = fresh();
      const big = bigResult('c', 10 * MiB, kind);
      await s.addItems([user('read the file'), functionCall('c'), big]);
      const items = await s.getItems();
      expect(items).toHaveLength(3);
      expect(items[2]).toEqual(big);
      expect(await s.popItem()).toEqual(big);
    });

    it('stores a turn of four 10 MiB items in one addItems (all or nothing)', async () => {
      const s = fresh();
      const turn = [0, 1, 2, 3].map((i) => bigResult(`c${i}`, 10 * MiB, i % 2 ? 'code' : 'base64'));
      await s.addItems(turn);
      const stored = await s.getItems();
      expect(stored.map((i) => (i as { callId: string }).callId)).toEqual(['c0', 'c1', 'c2', 'c3']);
      expect(stored).toEqual(turn);
    });

    it('refuses an item over maxItemBytes and a batch over maxBatchBytes, naming the limit, writing nothing', async () => {
      const s = fresh();
      await expect(s.addItems([bigResult('c', 17 * MiB)])).rejects.toThrow(/limits\.maxItemBytes/);
      await expect(s.addItems([0, 1, 2, 3, 4, 5, 6].map((i) => bigResult(`c${i}`, 10 * MiB)))).rejects.toThrow(
        /limits\.maxBatchBytes/,
      );
      expect(await s.getItems()).toEqual([]);
    });
  });
});

describeEachDialect(
  'MySQL/MariaDB max_allowed_packet',
  (dialect, baseUrl) => {
    const m = useMemory(dialect, baseUrl, { limits: { maxItemBytes: 64 * 1024 * 1024 } });

    it('refuses an item the server cannot take before writing, naming max_allowed_packet', async () => {
      const [{ n }] = await m.sql<{ n: number | string }>('SELECT @@max_allowed_packet AS n');
      const s = m.memory.session(`packet-${Date.now()}`);
      await s.addItems([user('kept')]);
      const tooBig = { role: 'user', content: 'x'.repeat(Number(n)) } as SessionItem;
      const err = await s.addItems([user('first'), tooBig]).catch((e: Error) => e);
      expect(err).toBeInstanceOf(InvalidSessionItemsError);
      expect((err as Error).message).toMatch(/items\[1\].*max_allowed_packet/);
      expect(await s.getItems()).toEqual([user('kept')]);
    });
  },
  ['mariadb'],
);
