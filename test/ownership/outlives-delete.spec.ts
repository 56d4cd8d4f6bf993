import { ConversationAccessDeniedError } from '../../lib';
import type { ConversationChange } from '../../lib/changes/conversation-change';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user } from '../support/items';

/**
 * Issue #20 item 8: an owner check must hold for the conversation it was made on. Once Bob's
 * conversation is deleted and Eve creates one with the same id, neither Bob's old session object nor
 * his open change stream may reach hers (before: both did, the check's answer being kept for the
 * object's life).
 */
describeEachDialect(
  'Ownership does not outlive the conversation (deleted, then re-created by another)',
  (dialect, url) => {
    const m = useMemory(dialect, url);

    it("Bob's old session object neither reads nor pops nor writes Eve's re-created conversation", async () => {
      const id = `outlive-obj-${Math.random().toString(36).slice(2, 8)}`;
      const bob = m.memory.session(id, { owner: 'bob' });
      await bob.addItems([user('bob 1')], { metadata: { who: 'bob' } });
      expect(await bob.getItems()).toHaveLength(1); // every check of this object has passed by now
      expect(await bob.getMetadata()).toEqual({ who: 'bob' });
      expect(await m.memory.deleteSession(id, { owner: 'bob' })).toBe(true);

      const eve = m.memory.session(id, { owner: 'eve' });
      await eve.addItems([user('EVE PRIVATE')], { metadata: { who: 'EVE PRIVATE' } });

      const attempts: [string, () => Promise<unknown>][] = [
        ['getItems', () => bob.getItems()],
        ['getItems(1)', () => bob.getItems(1)],
        ['getItemsPage', () => bob.getItemsPage({ limit: 5 })],
        ['getMetadata', () => bob.getMetadata()],
        ['popItem', () => bob.popItem()],
        ['addItems', () => bob.addItems([user('bob again')])],
        ['setMetadata', () => bob.setMetadata({ who: 'bob' })],
        ['clearSession', () => bob.clearSession()],
      ];
      const outcomes: string[] = [];
      for (const [name, attempt] of attempts) {
        try {
          const value = await attempt();
          outcomes.push(`${name}: ${JSON.stringify(value) ?? 'ok'}`);
        } catch (err) {
          outcomes.push(`${name}: ${err instanceof ConversationAccessDeniedError ? 'denied' : String(err)}`);
        }
      }
      expect(outcomes).toEqual(attempts.map(([name]) => `${name}: denied`));
      expect((await eve.getItems()).map((i) => (i as { content: string }).content)).toEqual(['EVE PRIVATE']);
      expect(await eve.getMetadata()).toEqual({ who: 'EVE PRIVATE' });
    });

    it("Bob's open change stream ends with ConversationAccessDeniedError instead of delivering Eve's items", async () => {
      const id = `outlive-stream-${Math.random().toString(36).slice(2, 8)}`;
      const bob = m.memory.session(id, { owner: 'bob' });
      await bob.addItems([user('bob 1')]);
      const seen: ConversationChange[] = [];
      let subscription: { unsubscribe(): void } | undefined;
      const ended = new Promise<unknown>((resolve) => {
        subscription = m.memory.changes$(id, { owner: 'bob' }).subscribe({
          next: (change) => seen.push(change),
          error: resolve,
          complete: () => resolve('completed'),
        });
      });
      try {
        await bob.addItems([user('bob 2')]);
        await waitFor(() => seen.length >= 1);
        await m.memory.deleteSession(id, { owner: 'bob' });
        await m.memory.session(id, { owner: 'eve' }).addItems([user('EVE PRIVATE')]);
        const outcome = await Promise.race([ended, delay(5000).then(() => 'still open')]);
        expect(outcome).toBeInstanceOf(ConversationAccessDeniedError);
        expect(JSON.stringify(seen)).not.toContain('EVE PRIVATE');
      } finally {
        subscription?.unsubscribe();
      }
    });
  },
);

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await delay(10);
  }
}
