import { ConversationAccessDeniedError, InvalidOwnerError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user } from '../support/items';

/**
 * Issue #20 item 12: every service call that takes a conversation id takes `{ owner }`, so that a
 * path going through `getMetadata(id)` / `setMetadata(id, ...)` cannot bypass ownership (before: they
 * took no owner, and answered anyone).
 */
describeEachDialect('Service calls by conversation id check { owner }', (dialect, url) => {
  const m = useMemory(dialect, url);

  it("getMetadata and setMetadata with { owner } refuse another caller's conversation and serve the owner's", async () => {
    const id = `svc-${Math.random().toString(36).slice(2, 8)}`;
    await m.memory.session(id, { owner: 'alice' }).addItems([user('hi')], { metadata: { secret: 'ALICE' } });

    const outcomes: string[] = [];
    for (const [name, call] of [
      ['getMetadata', () => m.memory.getMetadata(id, { owner: 'bob' })],
      ['setMetadata', () => m.memory.setMetadata(id, { secret: 'BOB' }, { owner: 'bob' })],
      ['setMetadata(null)', () => m.memory.setMetadata(id, null, { owner: 'bob' })],
    ] as [string, () => Promise<unknown>][]) {
      try {
        outcomes.push(`${name}: ${JSON.stringify(await call()) ?? 'ok'}`);
      } catch (err) {
        outcomes.push(`${name}: ${err instanceof ConversationAccessDeniedError ? 'denied' : String(err)}`);
      }
    }
    expect(outcomes).toEqual(['getMetadata: denied', 'setMetadata: denied', 'setMetadata(null): denied']);
    expect(await m.memory.getMetadata(id, { owner: 'alice' })).toEqual({ secret: 'ALICE' });
    await m.memory.setMetadata(id, { secret: 'ALICE 2' }, { owner: 'alice' });
    expect(await m.memory.getMetadata(id)).toEqual({ secret: 'ALICE 2' });
  });

  it('a bad owner is refused with InvalidOwnerError before any I/O', async () => {
    await expect(m.memory.getMetadata('x', { owner: '' })).rejects.toBeInstanceOf(InvalidOwnerError);
    await expect(m.memory.setMetadata('x', { a: 1 }, { owner: 42 as unknown as string })).rejects.toBeInstanceOf(
      InvalidOwnerError,
    );
  });

  it('setMetadata with { owner } on a new conversation makes the caller its owner', async () => {
    const id = `svc-new-${Math.random().toString(36).slice(2, 8)}`;
    await m.memory.setMetadata(id, { title: 'carol' }, { owner: 'carol' });
    await expect(m.memory.getMetadata(id, { owner: 'dave' })).rejects.toBeInstanceOf(ConversationAccessDeniedError);
    await expect(m.memory.session(id, { owner: 'dave' }).getItems()).rejects.toBeInstanceOf(
      ConversationAccessDeniedError,
    );
    expect(await m.memory.getMetadata(id, { owner: 'carol' })).toEqual({ title: 'carol' });
  });
});
