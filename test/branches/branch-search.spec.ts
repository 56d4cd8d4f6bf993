import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user } from '../support/items';

describeEachDialect(
  'search over branches: a hit names its branch, removed branch rows never appear',
  (dialect, baseUrl) => {
    const m = useMemory(dialect, baseUrl, { search: true });
    let n = 0;
    const fresh = () => m.memory.session(`br-search-${Date.now()}-${n++}`);
    const hits = async (query: string, id: string) =>
      (await m.memory.searchConversations({ query })).hits
        .filter((h) => h.conversationId === id)
        .map((h) => [h.branchId, h.snippet]);

    it('indexes a branch own rows, and drops them when popped, cleared or the branch deleted', async () => {
      const s = fresh();
      const id = s.conversationId;
      await s.addItems([user('apples and pears'), user('plums')]);
      await s.createBranchFromTurn(2);
      await s.addItems([user('quinces instead')]);
      expect(await hits('quinces', id)).toEqual([['branch-1', 'quinces instead']]);
      expect(await hits('apples', id)).toEqual([['main', 'apples and pears']]); // inherited: the main row's hit
      await s.popItem();
      expect(await hits('quinces', id)).toEqual([]);
      await s.addItems([user('quinces again')]);
      expect(await hits('quinces', id)).toEqual([['branch-1', 'quinces again']]);
      await s.clearSession();
      expect(await hits('quinces', id)).toEqual([]);
      await s.addItems([user('quinces once more')]);
      await s.createBranchFromTurn(1); // branch-2, current: branch-1 can be deleted
      expect(await hits('quinces', id)).toEqual([['branch-1', 'quinces once more']]);
      await s.deleteBranch('branch-1');
      expect(await hits('quinces', id)).toEqual([]);
      expect(await hits('plums', id)).toEqual([['main', 'plums']]);
    });
  },
);
