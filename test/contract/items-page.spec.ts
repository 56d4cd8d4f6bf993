import { InvalidLimitError, InvalidSessionInputError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user, texts } from '../support/items';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

describeEachDialect('getItemsPage: keyset pages of older items', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);

  it('pages back from the newest, oldest first in each page, unshifted by items added meanwhile', async () => {
    const s = m.memory.session(`pages-${Date.now()}`);
    await s.addItems(range(1, 45).map(user));
    const first = await s.getItemsPage({ limit: 20 });
    expect(texts(first.items)).toEqual(range(26, 45));
    await s.addItems([user('new while paging')]);
    const second = await s.getItemsPage({ limit: 20, before: first.before });
    expect(texts(second.items)).toEqual(range(6, 25));
    const third = await s.getItemsPage({ limit: 20, before: second.before });
    expect(texts(third.items)).toEqual(range(1, 5));
    expect(third.before).toBeUndefined();
    // exactly limit items left: no further page
    const exact = await s.getItemsPage({ limit: 5, before: second.before });
    expect(texts(exact.items)).toEqual(range(1, 5));
    expect(exact.before).toBeUndefined();
  });

  it('refuses bad input before any I/O', async () => {
    const s = m.memory.session(`pages-bad-${Date.now()}`);
    for (const limit of [0, 1001, 2.5, NaN])
      await expect(s.getItemsPage({ limit })).rejects.toBeInstanceOf(InvalidLimitError);
    for (const before of ['', '0', '-1', '1e3', 'abc', '12345678901234567890'])
      await expect(s.getItemsPage({ limit: 5, before })).rejects.toBeInstanceOf(InvalidSessionInputError);
  });
});
