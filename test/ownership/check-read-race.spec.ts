import { ConversationAccessDeniedError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemoryPair } from '../support/memory';

const ROUNDS = 300;
const SECRET = 'BOB PRIVATE';

/**
 * Issue #20 item 9: the owner check and the read it guards are one atomic step. Each round, Bob's
 * first write (items and metadata, through one module instance) lands while Eve reads the same
 * conversation through another instance on the same tables, with real concurrent clients: items,
 * a page, metadata, the summary. Eve may see the conversation empty or be refused; she must never see
 * Bob's items, metadata or pages (before: a read whose check ran before Bob's claim and whose read
 * ran after his write did).
 */
describeEachDialect('Owner check and read are one step (Eve reads while Bob first writes)', (dialect, url) => {
  const [bobSide, eveSide] = useMemoryPair(dialect, url);

  it(`${ROUNDS} rounds: Eve never sees Bob's items, metadata or pages`, async () => {
    const leaks: Record<string, number> = {};
    const unexpected: string[] = [];
    const leakedRounds = new Set<number>();
    const note = (round: number, what: string, value: unknown) => {
      if (JSON.stringify(value ?? null).includes(SECRET)) {
        leaks[what] = (leaks[what] ?? 0) + 1;
        leakedRounds.add(round);
      }
    };
    const eveReads: [string, (id: string) => Promise<unknown>][] = [
      ['getItems', (id) => eveSide.memory.session(id, { owner: 'eve' }).getItems()],
      ['getItems(5)', (id) => eveSide.memory.session(id, { owner: 'eve' }).getItems(5)],
      ['getItemsPage', (id) => eveSide.memory.session(id, { owner: 'eve' }).getItemsPage({ limit: 5 })],
      ['getMetadata', (id) => eveSide.memory.session(id, { owner: 'eve' }).getMetadata()],
      ['getSession', (id) => eveSide.memory.getSession(id, { owner: 'eve' }).catch(() => undefined)],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      const id = `race-${round}-${Math.random().toString(36).slice(2, 8)}`;
      let landed = false;
      const bob = bobSide.memory
        .session(id, { owner: 'bob' })
        .addItems([{ role: 'user', content: SECRET }], { metadata: { note: SECRET } })
        .then(() => (landed = true));
      // Eve reads over and over until Bob's write has landed, then once more.
      const eve = (async () => {
        for (let extra = 0; extra < 2;) {
          if (landed) extra++;
          await Promise.all(
            eveReads.map(async ([what, read]) => {
              try {
                note(round, what, await read(id));
              } catch (err) {
                if (!(err instanceof ConversationAccessDeniedError)) unexpected.push(`${what}: ${String(err)}`);
              }
            }),
          );
        }
      })();
      await Promise.all([bob, eve]);
    }
    // The figure for the report (stdout of the run).
    console.log(`[${dialect}] leaked rounds: ${leakedRounds.size} of ${ROUNDS}; by read: ${JSON.stringify(leaks)}`);
    expect(unexpected).toEqual([]);
    expect({ leakedRounds: leakedRounds.size, leaks }).toEqual({ leakedRounds: 0, leaks: {} });
  });
});
