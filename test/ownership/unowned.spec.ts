import {
  ConversationAccessDeniedError,
  InvalidConversationIdError,
  InvalidOwnerError,
  SessionMemoryModuleOptions,
  SessionNotFoundError,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { TestMemory, useMemoryPair } from '../support/memory';
import { user } from '../support/items';

const fresh = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 8)}`;

/** What a call did: its value, or `denied`, or the error's name. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    return JSON.stringify(await call()) ?? 'ok';
  } catch (err) {
    return err instanceof ConversationAccessDeniedError ? 'denied' : (err as Error).name;
  }
}

/**
 * Issue #20 item 11: conversations nobody owns (made before ownership was on, or by Python). A delete
 * is a write; a pop or read of nothing claims nothing; the `unownedConversations` option ('claim', the
 * default, or 'deny'); `assignOwner` for migrating existing data.
 */
describeEachDialect('Unowned conversations', (dialect, url) => {
  const [claim, deny] = useMemoryPair(dialect, url, {}, {
    unownedConversations: 'deny',
  } as Partial<SessionMemoryModuleOptions>);

  const rows = async (m: TestMemory, id: string) => ({
    sessions: (await m.sql(`SELECT session_id FROM ${m.tables.sessions} WHERE session_id = ?`, [id])).length,
    owners: (await m.sql(`SELECT owner FROM ${m.tables.sessions}_owners WHERE session_id = ?`, [id])).map(
      (r: { owner: string }) => r.owner,
    ),
  });

  it('a pop, a read and a clear of an unused id by an owner-scoped caller create nothing and claim nothing', async () => {
    const id = fresh('squat');
    const squatter = claim.memory.session(id, { owner: 'squatter' });
    expect(await squatter.popItem()).toBeUndefined();
    expect(await squatter.getItems()).toEqual([]);
    await squatter.clearSession();
    expect(await claim.memory.deleteSession(id, { owner: 'squatter' })).toBe(false);
    expect(await rows(claim, id)).toEqual({ sessions: 0, owners: [] });
    // The real owner's first write is not pre-empted.
    await claim.memory.session(id, { owner: 'alice' }).addItems([user('mine')]);
    expect(await rows(claim, id)).toEqual({ sessions: 1, owners: ['alice'] });
    expect(await outcome(() => squatter.getItems())).toBe('denied');
  });

  it("'claim' (the default): an owner-scoped delete of an unowned conversation is a write: it claims, then deletes", async () => {
    const id = fresh('legacy-claim');
    await claim.memory.session(id).addItems([user('from before ownership')]);
    expect(await rows(claim, id)).toEqual({ sessions: 1, owners: [] });
    expect(await claim.memory.session(id, { owner: 'eve' }).getItems()).toHaveLength(1);
    expect(await claim.memory.deleteSession(id, { owner: 'eve' })).toBe(true);
    expect(await rows(claim, id)).toEqual({ sessions: 0, owners: [] });
  });

  it("'deny': owner-scoped callers are refused an unowned conversation (reads, writes, pops, deletes) until an owner is assigned", async () => {
    const id = fresh('legacy-deny');
    await deny.memory.session(id).addItems([user('LEGACY PRIVATE')], { metadata: { t: 'LEGACY PRIVATE' } });
    const eve = deny.memory.session(id, { owner: 'eve' });
    const results = {
      getItems: await outcome(() => eve.getItems()),
      getItemsPage: await outcome(() => eve.getItemsPage({ limit: 5 })),
      getMetadata: await outcome(() => eve.getMetadata()),
      getSession: await outcome(() => deny.memory.getSession(id, { owner: 'eve' })),
      assertAccess: await outcome(() => deny.memory.assertAccess(id, 'eve')),
      addItems: await outcome(() => eve.addItems([user('eve')])),
      setMetadata: await outcome(() => eve.setMetadata({ t: 'eve' })),
      popItem: await outcome(() => eve.popItem()),
      clearSession: await outcome(() => eve.clearSession()),
      deleteSession: await outcome(() => deny.memory.deleteSession(id, { owner: 'eve' })),
    };
    expect(results).toEqual(Object.fromEntries(Object.keys(results).map((k) => [k, 'denied'])));
    expect(await rows(deny, id)).toEqual({ sessions: 1, owners: [] });
    expect(await deny.memory.session(id).getItems()).toHaveLength(1);

    await deny.memory.assignOwner(id, 'bob');
    expect(await rows(deny, id)).toEqual({ sessions: 1, owners: ['bob'] });
    expect(await deny.memory.session(id, { owner: 'bob' }).getItems()).toHaveLength(1);
    expect(await outcome(() => eve.getItems())).toBe('denied');
  });

  it("'deny': a conversation that does not exist yet is created and claimed by its first writer", async () => {
    const id = fresh('new-deny');
    expect(await deny.memory.session(id, { owner: 'eve' }).getItems()).toEqual([]);
    await deny.memory.session(id, { owner: 'eve' }).addItems([user('eve first')]);
    expect(await rows(deny, id)).toEqual({ sessions: 1, owners: ['eve'] });
    expect(await outcome(() => deny.memory.session(id, { owner: 'mallory' }).getItems())).toBe('denied');
    expect(await deny.memory.session(id, { owner: 'eve' }).getItems()).toHaveLength(1);
  });

  it('assignOwner replaces an owner, creates nothing for an unknown id, and refuses bad input with typed errors', async () => {
    const id = fresh('assign');
    await claim.memory.session(id, { owner: 'bob' }).addItems([user('bob')]);
    const before = await claim.sql(`SELECT updated_at FROM ${claim.tables.sessions} WHERE session_id = ?`, [id]);
    await claim.memory.assignOwner(id, 'carol');
    expect(await rows(claim, id)).toEqual({ sessions: 1, owners: ['carol'] });
    expect(await claim.sql(`SELECT updated_at FROM ${claim.tables.sessions} WHERE session_id = ?`, [id])).toEqual(
      before,
    );
    expect(await outcome(() => claim.memory.session(id, { owner: 'bob' }).getItems())).toBe('denied');
    expect(await claim.memory.session(id, { owner: 'carol' }).getItems()).toHaveLength(1);

    const missing = fresh('assign-missing');
    await expect(claim.memory.assignOwner(missing, 'carol')).rejects.toBeInstanceOf(SessionNotFoundError);
    expect(await rows(claim, missing)).toEqual({ sessions: 0, owners: [] });
    await expect(claim.memory.assignOwner('', 'carol')).rejects.toBeInstanceOf(InvalidConversationIdError);
    await expect(claim.memory.assignOwner(id, '')).rejects.toBeInstanceOf(InvalidOwnerError);
    await expect(claim.memory.assignOwner(id, 7 as unknown as string)).rejects.toBeInstanceOf(InvalidOwnerError);
  });
});
