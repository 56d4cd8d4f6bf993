import { InvalidManagementOptionsError, SessionMemoryError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { snippets, useSearchPair } from './search-support';

/** A small corpus: one conversation per line, the same on every dialect. */
const CORPUS: Record<string, string> = {
  c1: 'The invoice for March was paid by bank transfer',
  c2: 'Please send the invoice again, the March one',
  c3: 'Quarterly report: revenue grew in March',
  c4: 'Invoices are archived after seven years',
  c5: 'The bank closed my account in April',
  c6: 'Café crème and naïve façade: unicode text',
  c7: 'NEAR AND OR NOT are plain words here (parentheses) "quoted"',
};

/** The expected conversations of each query: written by hand from CORPUS, identical on every dialect. */
const EXPECTED: [string, string[]][] = [
  ['invoice', ['c1', 'c2']],
  ['INVOICE march', ['c1', 'c2']],
  ['march bank', ['c1']],
  ['"the invoice"', ['c1', 'c2']],
  ['"invoice for march"', ['c1']],
  ['"march invoice"', []],
  ['march -bank', ['c2', 'c3']],
  ['march -"the invoice"', ['c3']],
  ['invoic*', ['c1', 'c2', 'c4']],
  ['inv* -march', ['c4']],
  ['café', ['c6']],
  ['naïve', ['c6']],
  ['near', ['c7']],
  ['"and or not"', ['c7']],
  ['parentheses', ['c7']],
  ['april', ['c5']],
  ['nothing-here', []],
];

describeEachDialect('searchConversations: query syntax and hostile input', (dialect, baseUrl) => {
  const [a, b] = useSearchPair(dialect, baseUrl);
  const prefix = `syn-${Date.now().toString(36)}`;

  beforeAll(async () => {
    for (const [id, text] of Object.entries(CORPUS)) await a.memory.session(`${prefix}-${id}`).addItems([user(text)]);
    await a.memory.searchConversations({ query: 'warmup' }); // waits for a's index syncs
  });

  const found = async (query: string) =>
    (await b.memory.searchConversations({ query, limit: 100 })).hits
      .map((h) => h.conversationId.slice(prefix.length + 1))
      .sort();

  it.each(EXPECTED)('%s', async (query, expected) => {
    expect(await found(query)).toEqual(expected);
  });

  it('highlights the matched words in the snippet', async () => {
    const page = await b.memory.searchConversations({ query: 'march bank' });
    expect(page.hits).toHaveLength(1);
    const [hit] = page.hits;
    expect(hit.role).toBe('user');
    expect(hit.branchId).toBe('main');
    expect(hit.snippet).toBe(CORPUS.c1);
    expect(hit.highlights.map((h) => hit.snippet.slice(h.start, h.end)).sort()).toEqual(['March', 'bank']);
    expect(hit.timestamp.getTime()).toBeGreaterThan(Date.now() - 3_600_000);
    expect(snippets(await b.memory.searchConversations({ query: 'archived' }))).toEqual([CORPUS.c4]);
  });

  const HOSTILE = [
    `'`,
    `"`,
    `""`,
    `"unbalanced phrase`,
    `) OR 1=1 --`,
    `'; DROP TABLE x; --`,
    `invoice' OR '1'='1`,
    `NEAR(invoice march, 2)`,
    `invoice AND OR NOT march`,
    `invoice NOT`,
    `{col}: invoice`,
    `body:invoice`,
    `^invoice`,
    `+invoice -march ~bank <x >y @3`,
    `invoice*march`,
    `***`,
    `-`,
    `--invoice`,
    `-"" invoice`,
    `\\ \\\\ % _ \0`,
    `日本語のテキスト`,
    `😀 emoji 🎉`,
    `a:* & b | !c <-> d`,
    `$1 ? :name`,
    `x`.repeat(1000),
    `${'word '.repeat(200)}`,
  ];

  it('never lets hostile input reach the database as syntax: a page or a typed error', async () => {
    for (const query of HOSTILE) {
      const outcome = await b.memory.searchConversations({ query, limit: 5 }).then(
        (page) => ({ page }),
        (error: unknown) => ({ error }),
      );
      if ('error' in outcome) {
        expect(outcome.error).toBeInstanceOf(InvalidManagementOptionsError);
      } else {
        expect(Array.isArray(outcome.page.hits)).toBe(true);
      }
    }
  });

  it('searches operators literally', async () => {
    expect(await found(`invoice' OR '1'='1`)).toEqual([]);
    expect(await found('(invoice)')).toEqual(['c1', 'c2']);
    expect(await found('NEAR(invoice march)')).toEqual([]);
    expect(await found('march OR april')).toEqual([]);
  });

  it('refuses unusable queries and options with a typed error before any I/O', async () => {
    for (const query of ['', '   ', '-invoice', '-"a b"', '***', 'x'.repeat(1001), 42, null, '\ud800'] as unknown[]) {
      await expect(b.memory.searchConversations({ query } as never)).rejects.toBeInstanceOf(
        InvalidManagementOptionsError,
      );
    }
    for (const limit of [0, 101, 1.5]) {
      await expect(b.memory.searchConversations({ query: 'x', limit })).rejects.toBeInstanceOf(SessionMemoryError);
    }
    await expect(b.memory.searchConversations({ query: 'x', cursor: 'forged' })).rejects.toBeInstanceOf(
      InvalidManagementOptionsError,
    );
    await expect(b.memory.searchConversations({ query: 'x', since: new Date(NaN) })).rejects.toBeInstanceOf(
      InvalidManagementOptionsError,
    );
  });

  it('pages with a signed cursor: every hit once, best first, cursor bound to its query', async () => {
    const id = `${prefix}-paging`;
    await a.memory.session(id).addItems(Array.from({ length: 25 }, (_, i) => user(`pagingword number ${i}`)));
    await a.memory.searchConversations({ query: 'warmup' }); // a's index syncs done; b pages
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await b.memory.searchConversations({ query: 'pagingword', limit: 10, cursor });
      seen.push(...page.hits.map((h) => h.itemId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(25);
    const first = await b.memory.searchConversations({ query: 'pagingword', limit: 10 });
    await expect(
      b.memory.searchConversations({ query: 'pagingword number', limit: 10, cursor: first.nextCursor }),
    ).rejects.toBeInstanceOf(InvalidManagementOptionsError);
  });

  it('bounds by time with since and until', async () => {
    const future = new Date(Date.now() + 3_600_000);
    expect((await b.memory.searchConversations({ query: 'invoice', since: future })).hits).toEqual([]);
    expect((await b.memory.searchConversations({ query: 'invoice', until: future })).hits).toHaveLength(2);
    expect((await b.memory.searchConversations({ query: 'invoice', until: new Date(0) })).hits).toEqual([]);
  });
});
