import { InvalidConversationIdError, SessionNotFoundError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user } from '../support/items';

describeEachDialect('SessionMemoryService.getSession', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);

  it('summarises one conversation: times, item count, metadata', async () => {
    const id = `summary-${Date.now()}`;
    const before = Date.now() - 5 * 60_000; // database clocks may differ a little from this process
    await m.memory.session(id).addItems([user('a'), user('b'), user('c')], { metadata: { userId: 'u1' } });
    await m.memory.session(`${id}-other`).addItems([user('not counted')]);
    const summary = await m.memory.getSession(id);
    expect(summary.conversationId).toBe(id);
    expect(summary.itemCount).toBe(3);
    expect(summary.metadata).toEqual({ userId: 'u1' });
    expect(summary.createdAt.getTime()).toBeGreaterThan(before);
    expect(summary.updatedAt.getTime()).toBeGreaterThanOrEqual(summary.createdAt.getTime());
  });

  it('throws SessionNotFoundError for an unknown or deleted conversation, naming the id; a cleared one has 0 items', async () => {
    const id = `missing-${Date.now()}`;
    await expect(m.memory.getSession(id)).rejects.toBeInstanceOf(SessionNotFoundError);
    await m.memory.session(id).addItems([user('x')]);
    const before = await m.memory.getSession(id);
    expect(before).toMatchObject({ conversationId: id, itemCount: 1 });
    await m.memory.session(id).clearSession();
    const cleared = await m.memory.getSession(id);
    expect(cleared).toMatchObject({ conversationId: id, itemCount: 0 });
    expect(cleared.createdAt).toEqual(before.createdAt);
    await m.memory.deleteSession(id);
    await expect(m.memory.getSession(id)).rejects.toThrow(id);
    // ids are exact: another case is another conversation
    await m.memory.session(`Case-${id}`).addItems([user('y')]);
    await expect(m.memory.getSession(`case-${id}`)).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it('refuses a bad id before any I/O', async () => {
    await expect(m.memory.getSession('')).rejects.toBeInstanceOf(InvalidConversationIdError);
  });
});
