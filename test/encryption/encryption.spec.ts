import { copyFileSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Test } from '@nestjs/testing';
import {
  SessionItem,
  SessionMemoryConfigurationError,
  SessionMemoryModule,
  SessionMemoryService,
  UnreadableItemsError,
} from '../../lib';
import { FernetKey } from '../../lib/encryption/fernet';
import { conversationKey, masterKeyBytes } from '../../lib/encryption/key-derivation';
import { havePython, pythonReads } from '../support/python-reader';
import { describeEachDialect } from '../support/databases';
import { startMemory } from '../support/memory';
import { user, functionCall, texts } from '../support/items';
import { insertRawRows, storedMessageData } from '../support/raw-rows';
import { useKeyedMemories } from '../support/keyed-memories';
import { useLoggedWarnings } from '../support/warnings';

const FIXTURES = join(__dirname, '..', 'fixtures', 'python-encrypted-session');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8'));
const KEYS: { fernet_format: string; passphrase: string } = expected.keys;
type FixtureConversation = {
  key: string;
  items: SessionItem[];
  message_data: string[];
  items_with_wrong_key: SessionItem[];
};
const CONVERSATIONS: Record<string, FixtureConversation> = expected.sqlite.conversations;

const isEnvelope = (text: string) =>
  /^\{"__enc__":1,"v":1,"kid":"hkdf-v1","payload":"gAAAAA[A-Za-z0-9_=-]+"\}$/.test(text);

describe('Python EncryptedSession fixture file (SQLite), read as it is', () => {
  it.each(Object.entries(CONVERSATIONS))(
    '%s: every item exactly; a wrong key reads only the plain rows',
    async (id, c) => {
      const dir = mkdtempSync(join(tmpdir(), 'nsm-enc-'));
      copyFileSync(join(FIXTURES, 'sqlite.db'), join(dir, 'py.db'));
      for (const [keys, want] of [
        [c.key, c.items],
        [[KEYS.fernet_format, KEYS.passphrase].find((k) => k !== c.key)!, c.items_with_wrong_key],
      ] as const) {
        const module = await Test.createTestingModule({
          imports: [SessionMemoryModule.forRoot({ url: `sqlite:${join(dir, 'py.db')}`, encryption: { keys } })],
        }).compile();
        await module.init();
        try {
          expect(await module.get(SessionMemoryService).session(id).getItems()).toEqual(want);
        } finally {
          await module.close();
        }
      }
    },
  );
});

describeEachDialect('Encrypted conversations', (dialect, baseUrl) => {
  const { plain, withKeys, closeAfterAll } = useKeyedMemories(dialect, baseUrl); // plain: sees the stored rows as they are
  const warnings = useLoggedWarnings();
  let n = 0;
  const id = (name: string) => `enc-${name}-${++n}-${Date.now()}`;
  const rows = (conversationId: string) => storedMessageData(plain, conversationId);
  const insertRaw = async (conversationId: string, texts: string[]) => {
    await plain.memory.session(conversationId).setMetadata({ made: 'raw' }); // creates the session row
    await insertRawRows(plain, conversationId, texts);
  };

  it('reads every Python fixture conversation exactly, from the rows Python wrote', async () => {
    for (const [fixtureId, c] of Object.entries(CONVERSATIONS)) {
      // Python derived each key from its own conversation id: store the rows under that id.
      const m = await withKeys({ keys: c.key });
      await insertRaw(fixtureId, c.message_data);
      expect(await m.memory.session(fixtureId).getItems()).toEqual(c.items);
      expect(await m.memory.session(fixtureId).getItems(1)).toEqual(c.items.slice(-1));
    }
  });

  it.each([
    ['a Fernet-format key', KEYS.fernet_format],
    ['a passphrase', KEYS.passphrase],
  ])('with %s: the database holds only envelopes, the application sees plaintext', async (_what, key) => {
    const m = await withKeys({ keys: key });
    const conversationId = id('write');
    const items = [
      user('Zoë — café 東京 🚀'),
      user('second'),
      { type: 'function_call', callId: 'c1', name: 'f', arguments: '{}', status: 'completed' } as SessionItem,
    ];
    await m.memory.session(conversationId).addItems(items.slice(0, 2));
    await m.memory.session(conversationId).addItems(items.slice(2), { metadata: { title: 'not encrypted' } });
    const stored = await rows(conversationId);
    expect(stored).toHaveLength(3);
    for (const text of stored) {
      expect(isEnvelope(text)).toBe(true);
      expect(text).not.toContain('café');
    }
    expect(await m.memory.session(conversationId).getItems()).toEqual(items);
    expect(await m.memory.session(conversationId).popItem()).toEqual(items[2]);
    if (havePython) expect(pythonReads(key, conversationId, await rows(conversationId))).toEqual(items.slice(0, 2));
  });

  (havePython ? it : it.skip)(
    'Python reads what a compaction, a history transaction and a mutation wrote',
    async () => {
      const key = KEYS.passphrase;
      const m = await withKeys({ keys: key });
      const conversationId = id('python-reads');
      const s = m.memory.session(conversationId);
      const call = (args: string) => functionCall('c1', args, 'f');
      await s.addItems([user('a'), user('b')]);
      await s.getItems();
      await s.replaceHistoryWithCompaction([{ type: 'compaction', encrypted_content: 'x' } as SessionItem, user('b')]);
      await s.applyHistoryTransaction({
        operationId: 'op',
        transaction: { type: 'replace_suffix', expectedSuffix: [user('b')], replacement: [user('c'), call('{}')] },
      });
      await s.applyHistoryMutations({
        mutations: [{ type: 'replace_function_call', callId: 'c1', replacement: call('{"v":2}') as never }],
      });
      const want = [{ type: 'compaction', encrypted_content: 'x' }, user('c'), call('{"v":2}')];
      expect(await s.getItems()).toEqual(want);
      expect((await rows(conversationId)).every(isEnvelope)).toBe(true);
      expect(pythonReads(key, conversationId, await rows(conversationId))).toEqual(want);
    },
  );

  it('rotation: the first key encrypts, all decrypt; reencrypt moves rows in bounded steps while a writer writes', async () => {
    const [k1, k2] = ['old key, retired soon', KEYS.fernet_format];
    // Tables of its own: reencrypt walks every conversation of a table.
    const own = closeAfterAll(await startMemory(plain.url));
    const oldOnly = await withKeys({ keys: k1 }, own.tables);
    const conversationId = id('rotate');
    await oldOnly.memory.session(conversationId).addItems(Array.from({ length: 7 }, (_, i) => user(`old ${i}`)));
    const rotated = await withKeys({ keys: [k2, k1] }, own.tables);
    await rotated.memory.session(conversationId).addItems([user('new 0')]);
    const all = [...Array.from({ length: 7 }, (_, i) => user(`old ${i}`)), user('new 0')];
    expect(await rotated.memory.session(conversationId).getItems()).toEqual(all);
    warnings.length = 0;
    expect(await oldOnly.memory.session(conversationId).getItems()).toEqual(all.slice(0, 7)); // k1 cannot open the new row
    expect(warnings.join('\n')).toMatch(/Skipped 1 corrupt row .*no configured key opens/);

    // Re-encrypt 3 rows per call while another writer adds items; every row stays readable throughout.
    let cursor: string | undefined;
    let calls = 0;
    const writer = (async () => {
      for (let i = 1; i <= 5; i++) await rotated.memory.session(conversationId).addItems([user(`new ${i}`)]);
    })();
    do {
      const step = await rotated.memory.reencrypt({ batchSize: 3, cursor });
      expect(step.scanned).toBeLessThanOrEqual(3);
      expect(step.unreadable).toBe(0);
      cursor = step.nextCursor;
      calls++;
      expect((await rotated.memory.session(conversationId).getItems()).length).toBeGreaterThanOrEqual(8);
    } while (cursor);
    await writer;
    await rotated.memory.reencrypt({ batchSize: 10_000 }); // a last pass
    expect(calls).toBeGreaterThan(1);
    const newOnly = await withKeys({ keys: k2 }, own.tables);
    const want = [...all, ...Array.from({ length: 5 }, (_, i) => user(`new ${i + 1}`))];
    expect(await newOnly.memory.session(conversationId).getItems()).toEqual(want);
  });

  it('reencrypt also moves the rows of branches (their own table), then a new key alone reads every branch', async () => {
    const [k1, k2] = ['old key of branched conversations', KEYS.fernet_format];
    const own = closeAfterAll(await startMemory(plain.url));
    const oldOnly = await withKeys({ keys: k1 }, own.tables);
    const conversationId = id('rotate-branches');
    const s = oldOnly.memory.session(conversationId);
    await s.addItems([user('q1'), user('q2'), user('q3')]);
    await s.createBranchFromTurn(2);
    await s.addItems([user('q2 again'), user('q3 again')]);
    await s.createBranchFromTurn(3); // a branch of a branch: its rows inherit from both lines
    await s.addItems([user('q3 third')]);
    const rotated = await withKeys({ keys: [k2, k1] }, own.tables);
    let cursor: string | undefined;
    const cursors: string[] = [];
    do {
      const step = await rotated.memory.reencrypt({ batchSize: 2, cursor });
      expect(step.unreadable).toBe(0);
      cursor = step.nextCursor;
      if (cursor) cursors.push(cursor);
    } while (cursor);
    expect(cursors.some((c) => c.startsWith('branches:'))).toBe(true);
    warnings.length = 0;
    const newOnly = await withKeys({ keys: k2 }, own.tables).then((m) => m.memory.session(conversationId));
    expect(texts(await newOnly.onBranch('main').getItems())).toEqual(['q1', 'q2', 'q3']);
    expect(texts(await newOnly.onBranch('branch-1').getItems())).toEqual(['q1', 'q2 again', 'q3 again']);
    expect(texts(await newOnly.onBranch('branch-2').getItems())).toEqual(['q1', 'q2 again', 'q3 third']);
    expect(warnings).toEqual([]);
  });

  it('rows that do not decrypt (wrong key, tampered, expired) are skipped with one counted warning; popItem refuses to delete them', async () => {
    const key = KEYS.passphrase;
    const conversationId = id('bad-rows');
    const m = await withKeys({ keys: key, ttl: 3600 });
    const convKey = conversationKey(masterKeyBytes(key), conversationId);
    const envelope = (token: string) => `{"__enc__":1,"v":1,"kid":"hkdf-v1","payload":${JSON.stringify(token)}}`;
    const good = (item: SessionItem) => envelope(convKey.encrypt(Buffer.from(JSON.stringify(item))));
    const expired = envelope(
      convKey.encrypt(Buffer.from(JSON.stringify(user('expired'))), Math.floor(Date.now() / 1000) - 7200),
    );
    const wrongKey = envelope(new FernetKey(Buffer.alloc(32, 9)).encrypt(Buffer.from(JSON.stringify(user('wrong')))));
    const tampered = good(user('tampered')).replace(
      /payload":"gAAAAA(.)/,
      (_, c: string) => `payload":"gAAAAA${c === 'A' ? 'B' : 'A'}`,
    );
    await insertRaw(conversationId, [good(user('first')), expired, wrongKey, good(user('kept')), tampered, wrongKey]);
    warnings.length = 0;
    expect(await m.memory.session(conversationId).getItems()).toEqual([user('first'), user('kept')]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Skipped 4 corrupt rows/);
    // Unlike Python's pop_item, popItem does not remove the two newest rows no key opens: it refuses.
    const err = await m.memory
      .session(conversationId)
      .popItem()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreadableItemsError);
    expect((err as UnreadableItemsError).count).toBe(2);
    expect(await rows(conversationId)).toHaveLength(6);
  });

  it('refuses bad encryption options at startup', async () => {
    for (const encryption of [{ keys: [] }, { keys: '' }, { keys: 'k', ttl: 0 }, { keys: [1] }]) {
      const err = await startMemory(plain.url, { encryption: encryption as never }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    }
  });
});
