import { createHash, randomBytes } from 'crypto';
import type { SessionHistoryTransactionArgs } from '@openai/agents-core';
import { HistoryOperationConflictError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { storedMessageData } from '../support/raw-rows';
import { useKeyedMemories } from '../support/keyed-memories';

/** A Fernet-format master key (32 random bytes) and a passphrase: the two forms a master key takes. */
const K1 = randomBytes(32).toString('base64url') + '=';
const K2 = `passphrase-${randomBytes(8).toString('hex')}`;

const pinTransaction = (pin: string): SessionHistoryTransactionArgs['transaction'] => ({
  type: 'append_items',
  items: [user(`my card PIN is ${pin}`)],
});

/**
 * The attacker's canonical text, written here from the documented rule (JSON with object keys
 * sorted at every level), not taken from the module.
 */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value));
}
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Brute force of a stored transaction_hash over the 10,000 four-digit PINs: the PIN, or undefined. */
function bruteForce(stored: string): { pin?: string; ms: number } {
  const started = process.hrtime.bigint();
  let pin: string | undefined;
  for (let i = 0; i < 10_000 && pin === undefined; i++) {
    const candidate = String(i).padStart(4, '0');
    if (sha256(canonical(pinTransaction(candidate))) === stored) pin = candidate;
  }
  return { pin, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

describeEachDialect('The operation log under encryption', (dialect, baseUrl) => {
  const { plain, withKeys } = useKeyedMemories(dialect, baseUrl); // plain: the tables as they are
  let n = 0;
  const id = (name: string) => `oplog-${name}-${++n}-${Date.now()}`;
  const logged = async (conversationId: string) =>
    (
      await plain.sql<{ operation_id: string; transaction_hash: string }>(
        `SELECT operation_id, transaction_hash FROM ${plain.tables.messages}_operations WHERE session_id = ? ORDER BY operation_id`,
        [conversationId],
      )
    ).map((r) => ({ operationId: r.operation_id, hash: String(r.transaction_hash).trim() }));
  const rowCount = async (conversationId: string) =>
    (await plain.sql(`SELECT id FROM ${plain.tables.messages} WHERE session_id = ?`, [conversationId])).length;

  it('with encryption, the stored digest of a transaction holding a 4-digit PIN does not give the PIN away', async () => {
    const m = await withKeys({ keys: [K1] });
    const conversationId = id('pin');
    await m.memory
      .session(conversationId)
      .applyHistoryTransaction({ operationId: 'turn-1', transaction: pinTransaction('4821') });

    const [entry] = await logged(conversationId);
    expect(entry.hash).toMatch(/^[0-9a-f]{64}$/); // fits the CHAR(64) column of every dialect
    const attack = bruteForce(entry.hash);
    console.log(
      `[${dialect}] brute force of the stored transaction_hash: pin=${attack.pin} in ${attack.ms.toFixed(1)} ms`,
    );
    expect(attack.pin).toBeUndefined();
    // The item itself is sealed: the PIN is nowhere in the rows.
    expect((await storedMessageData(plain, conversationId)).join()).not.toContain('4821');
  });

  it('the same transaction in two conversations is recorded under different digests', async () => {
    const m = await withKeys({ keys: [K1] });
    const [a, b] = [id('twin-a'), id('twin-b')];
    for (const c of [a, b])
      await m.memory.session(c).applyHistoryTransaction({ operationId: 'op', transaction: pinTransaction('1111') });
    expect((await logged(a))[0].hash).not.toBe((await logged(b))[0].hash);
  });

  it('after rotating keys ([K2, K1]) a replay recorded under K1 is a no-op, and another transaction under that id a conflict', async () => {
    const before = await withKeys({ keys: [K1] });
    const after = await withKeys({ keys: [K2, K1] });
    const conversationId = id('rotate');
    const args = { operationId: 'turn-7', transaction: pinTransaction('0007') };
    await before.memory.session(conversationId).applyHistoryTransaction(args);
    const recorded = await logged(conversationId);

    await after.memory.session(conversationId).applyHistoryTransaction(structuredClone(args));
    expect(await rowCount(conversationId)).toBe(1); // nothing written twice
    expect(await logged(conversationId)).toEqual(recorded);
    expect(await after.memory.session(conversationId).getItems()).toEqual([user('my card PIN is 0007')]);

    await expect(
      after.memory
        .session(conversationId)
        .applyHistoryTransaction({ operationId: 'turn-7', transaction: pinTransaction('0008') }),
    ).rejects.toBeInstanceOf(HistoryOperationConflictError);
    expect(await rowCount(conversationId)).toBe(1);

    // New operations are recorded under the first key: the old key alone no longer recognises them.
    await after.memory
      .session(conversationId)
      .applyHistoryTransaction({ operationId: 'turn-8', transaction: pinTransaction('0008') });
    await expect(
      before.memory
        .session(conversationId)
        .applyHistoryTransaction({ operationId: 'turn-8', transaction: pinTransaction('0008') }),
    ).rejects.toBeInstanceOf(HistoryOperationConflictError);
    expect(await rowCount(conversationId)).toBe(2);
  });

  it('a replay recorded before the upgrade (plain SHA-256 in an encrypted conversation) is still recognised', async () => {
    const m = await withKeys({ keys: [K1] });
    const conversationId = id('legacy');
    const transaction = pinTransaction('2468');
    await m.memory.session(conversationId).addItems([user('hello')]); // creates the session row
    await plain.sql(
      `INSERT INTO ${plain.tables.messages}_operations (session_id, operation_id, transaction_hash) VALUES (?, ?, ?)`,
      [conversationId, 'old-op', sha256(canonical(transaction))],
    );
    await m.memory.session(conversationId).applyHistoryTransaction({ operationId: 'old-op', transaction });
    expect(await rowCount(conversationId)).toBe(1);
    await expect(
      m.memory
        .session(conversationId)
        .applyHistoryTransaction({ operationId: 'old-op', transaction: pinTransaction('2469') }),
    ).rejects.toBeInstanceOf(HistoryOperationConflictError);
  });

  it('without encryption the log keeps the plain SHA-256: replay is a no-op, another transaction a conflict', async () => {
    const m = await withKeys();
    const conversationId = id('plain');
    const transaction = pinTransaction('1357');
    await m.memory.session(conversationId).applyHistoryTransaction({ operationId: 'p-1', transaction });
    expect(await logged(conversationId)).toEqual([{ operationId: 'p-1', hash: sha256(canonical(transaction)) }]);

    await m.memory
      .session(conversationId)
      .applyHistoryTransaction({ operationId: 'p-1', transaction: structuredClone(transaction) });
    expect(await rowCount(conversationId)).toBe(1);
    await expect(
      m.memory
        .session(conversationId)
        .applyHistoryTransaction({ operationId: 'p-1', transaction: pinTransaction('1358') }),
    ).rejects.toBeInstanceOf(HistoryOperationConflictError);
    expect(await rowCount(conversationId)).toBe(1);
  });
});
