import type { SessionItem } from '../../lib';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import { recordStatements } from '../support/citus';
import { describeEachDialect, isPostgresFamily } from '../support/databases';
import { texts, user } from '../support/items';
import { TestMemory, useMemoryPair } from '../support/memory';

const contextOf = (m: TestMemory) => (m.memory as unknown as { context: SessionMemoryContext }).context;

/**
 * A read that follows the current branch, on a conversation that may have branches, reads main in one
 * statement carrying "main is current" (`SessionStore.readsWhileMainIsCurrent`) while this process has
 * not seen another branch current; when that statement answers nothing it looks the branch up. So a
 * process that last saw main current and reads after another process switched the branch must read
 * that branch, never main.
 */
describeEachDialect('branches: the read of main carries the current-branch check', (dialect, baseUrl) => {
  const [a, b] = useMemoryPair(dialect, baseUrl);
  let n = 0;
  const fresh = () => `main-read-${Date.now()}-${n++}`;
  const said = (items: SessionItem[]) => texts(items);

  it('the one-statement reads answer while main is current, nothing while another branch is', async () => {
    const id = fresh();
    await a.memory.session(id).addItems([user('q1'), user('q2')]);
    const reads = contextOf(a).store.readsWhileMainIsCurrent();
    const all = await reads.readAll(id);
    expect(all.texts.map((t) => JSON.parse(t).content)).toEqual(['q1', 'q2']);
    expect(all.ids).toHaveLength(2);
    expect((await reads.readNewest(id, 1)).map((r) => JSON.parse(r.message_data).content)).toEqual(['q2']);
    expect((await reads.readAllData(id)).map((t) => JSON.parse(t).content)).toEqual(['q1', 'q2']);
    expect((await reads.readNewestData(id, 5)).map((t) => JSON.parse(t).content)).toEqual(['q2', 'q1']);
    const readable = { owner: 'ann', unowned: 'readable' as const };
    expect((await reads.readAll(id, readable)).texts).toHaveLength(2);
    expect((await reads.readAll(id, { owner: 'ann', unowned: 'hidden' })).texts).toHaveLength(0);

    await b.memory.session(id).createBranchFromTurn(2); // another process: branch-1 (q1) is current
    expect((await reads.readAll(id)).texts).toEqual([]);
    expect(await reads.readNewest(id, 1)).toEqual([]);
    expect(await reads.readAllData(id)).toEqual([]);
    expect(await reads.readNewestData(id, 5)).toEqual([]);
    expect((await reads.readAll(id, readable)).texts).toEqual([]);
    // the plain reads of main still read main
    expect((await contextOf(a).store.readAll(id)).texts).toHaveLength(2);
  });

  it('a process that saw main current reads the branch another process made current, and back', async () => {
    const id = fresh();
    await a.memory.session(id).addItems([user('q1'), user('q2'), user('q3')]);
    expect(said(await a.memory.session(id).getItems())).toEqual(['q1', 'q2', 'q3']);
    const tab = b.memory.session(id);
    await tab.createBranchFromTurn(3);
    await tab.addItems([user('q3 again')]);
    expect(said(await a.memory.session(id).getItems())).toEqual(['q1', 'q2', 'q3 again']);
    await tab.switchToBranch('main');
    expect(said(await a.memory.session(id).getItems())).toEqual(['q1', 'q2', 'q3']);
    expect(said(await a.memory.session(id).getItems(1))).toEqual(['q3']);
    await tab.switchToBranch('branch-1');
    // a process whose last read saw main current: whole read, newest n, a page, the turns
    expect(said(await a.memory.session(id).getItems(2))).toEqual(['q2', 'q3 again']);
    await tab.switchToBranch('main');
    await a.memory.session(id).getItems(); // main seen current again
    await tab.switchToBranch('branch-1');
    expect(said((await a.memory.session(id).getItemsPage({ limit: 2 })).items)).toEqual(['q2', 'q3 again']);
    await tab.switchToBranch('main');
    await a.memory.session(id).getItems();
    await tab.switchToBranch('branch-1');
    expect((await a.memory.session(id).getConversationTurns()).map((t) => t.content)).toEqual(['q1', 'q2', 'q3 again']);
  });

  it('an empty main while a branch is current, and an empty conversation', async () => {
    const id = fresh();
    await a.memory.session(id).addItems([user('q1')]);
    await a.memory.session(id).getItems();
    await b.memory.session(id).createBranchFromTurn(1); // branch-1 holds nothing yet
    expect(await a.memory.session(id).getItems()).toEqual([]);
    await b.memory.session(id).addItems([user('other q1')]);
    expect(said(await a.memory.session(id).getItems())).toEqual(['other q1']);
    await b.memory.session(id).clearSession(); // clears the current branch, not main
    expect(await a.memory.session(id).getItems()).toEqual([]);
    expect(said(await a.memory.session(id).onBranch('main').getItems())).toEqual(['q1']);
    expect(await a.memory.session(fresh()).getItems()).toEqual([]);
  });

  if (isPostgresFamily(dialect)) {
    it('a whole read and a read of the newest n of main are one statement each', async () => {
      const id = fresh();
      await a.memory.session(id).addItems([user('q1'), user('q2')]);
      const recorder = recordStatements(a.memory.dataSource);
      try {
        expect(said(await a.memory.session(id).getItems())).toEqual(['q1', 'q2']);
        expect(recorder.take()).toHaveLength(1);
        expect(said(await a.memory.session(id).getItems(1))).toEqual(['q2']);
        expect(recorder.take()).toHaveLength(1);
      } finally {
        recorder.stop();
      }
    });
  }
});
