import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';

describeEachDialect('listSessions with dates after 2038', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);

  it('updatedBefore 2040 lists a conversation written now; updatedAfter 2040 does not', async () => {
    const id = `far-${Date.now()}`;
    await m.memory.session(id).addItems([{ role: 'user', content: 'now' }]);
    const far = new Date('2040-06-01T00:00:00.000Z');
    const before = await m.memory.listSessions({ updatedBefore: far, limit: 1000 });
    expect(before.sessions.map((s) => s.conversationId)).toContain(id);
    const after = await m.memory.listSessions({ updatedAfter: far, limit: 1000 });
    expect(after.sessions.map((s) => s.conversationId)).not.toContain(id);
  });
});
