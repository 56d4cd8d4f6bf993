import type { SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { compaction, user } from '../support/items';
import type { TestMemory } from '../support/memory';
import { useSearchPair } from './search-support';

const assistant = (text: string): SessionItem =>
  ({
    role: 'assistant',
    type: 'message',
    status: 'completed',
    content: [{ type: 'output_text', text }],
  }) as SessionItem;

/** A user message with no text (an image only): it starts a turn but holds nothing to index. */
const imageOnly = (): SessionItem =>
  ({ role: 'user', content: [{ type: 'input_image', image: 'https://example.com/x.png' }] }) as SessionItem;

/**
 * A hit's `turn` is the user turn of its item on its branch line (as getConversationByTurns counts:
 * each user message starts the next turn, items before the first one are turn 0), computed when the
 * search runs, so it is never stale: `a` writes, `b` (another instance on the same tables) searches.
 */
describeEachDialect('search: the turn of each hit', (dialect, baseUrl) => {
  const [a, b] = useSearchPair(dialect, baseUrl);
  const prefix = `turn-${Date.now().toString(36)}`;
  const settle = () => a.memory.searchConversations({ query: 'settle' });
  /** `snippet -> turn` of the hits of `query` in one conversation, via `b`. */
  const turns = async (query: string, conversationId: string, via: TestMemory = b) => {
    const page = await via.memory.searchConversations({ query, limit: 100 });
    const out: Record<string, number | undefined> = {};
    for (const h of page.hits) if (h.conversationId === conversationId) out[`${h.branchId}:${h.snippet}`] = h.turn;
    return out;
  };

  it('counts user messages up to the hit (turn 0 before the first; a user message without text counts)', async () => {
    const id = `${prefix}-plain`;
    await a.memory
      .session(id)
      .addItems([
        assistant('plainturn greeting'),
        user('plainturn first question'),
        assistant('plainturn first answer'),
        imageOnly(),
        assistant('plainturn about the image'),
        user('plainturn third question'),
      ]);
    await settle();
    const expected = {
      'main:plainturn greeting': 0,
      'main:plainturn first question': 1,
      'main:plainturn first answer': 1,
      'main:plainturn about the image': 2,
      'main:plainturn third question': 3,
    };
    expect(await turns('plainturn', id)).toEqual(expected);
    expect(await turns('plainturn', id, a)).toEqual(expected);
  });

  it('after a pop, and after rows removed behind the module (at once, before any index sync)', async () => {
    const id = `${prefix}-pop`;
    const s = a.memory.session(id);
    await s.addItems([user('popturn one'), user('two'), user('three')]);
    await s.popItem();
    await s.popItem();
    await s.addItems([assistant('popturn answer'), user('popturn second')]);
    await settle();
    expect(await turns('popturn', id)).toEqual({
      'main:popturn one': 1,
      'main:popturn answer': 1,
      'main:popturn second': 2,
    });
    // Python's pop or a DBA's DELETE: the module is not told, the turns after it move at once.
    await a.sql(`DELETE FROM ${a.tables.messages} WHERE session_id = ? AND message_data LIKE ?`, [id, '%popturn one%']);
    expect(await turns('popturn', id)).toEqual({ 'main:popturn answer': 0, 'main:popturn second': 1 });
  });

  it('after a compaction, a clear and a history transaction', async () => {
    const id = `${prefix}-compact`;
    const s = a.memory.session(id);
    await s.addItems([user('q1'), user('q2'), user('q3')]);
    await s.replaceHistoryWithCompaction([compaction('c'), user('compturn kept'), assistant('compturn answer')]);
    await settle();
    expect(await turns('compturn', id)).toEqual({ 'main:compturn kept': 1, 'main:compturn answer': 1 });

    await s.addItems([user('txturn asked'), assistant('txturn old answer')]);
    await s.applyHistoryTransaction({
      operationId: `${prefix}-op`,
      transaction: {
        type: 'replace_suffix',
        expectedSuffix: [assistant('txturn old answer')],
        replacement: [user('txturn asked again'), assistant('txturn new answer')],
      },
    });
    await settle();
    expect(await turns('txturn', id)).toEqual({
      'main:txturn asked': 2,
      'main:txturn asked again': 3,
      'main:txturn new answer': 3,
    });

    await s.clearSession();
    await s.addItems([assistant('clearturn hello'), user('clearturn question')]);
    await settle();
    expect(await turns('clearturn', id)).toEqual({ 'main:clearturn hello': 0, 'main:clearturn question': 1 });
  });

  it('on a branch line: inherited turns counted, also after main is compacted (the branch frozen) and on a branch of a branch', async () => {
    const id = `${prefix}-branch`;
    const s = a.memory.session(id);
    await s.addItems([user('brturn one'), assistant('a1'), user('brturn two'), assistant('a2'), user('brturn three')]);
    await s.createBranchFromTurn(2); // branch-1: one, a1
    await s.addItems([user('brturn edited two'), assistant('brturn reply')]);
    await settle();
    const branchOne = {
      'main:brturn one': 1,
      'main:brturn two': 2,
      'main:brturn three': 3,
      'branch-1:brturn edited two': 2,
      'branch-1:brturn reply': 2,
    };
    expect(await turns('brturn', id)).toEqual(branchOne);

    // Compacting main freezes branch-1 (what it inherits is copied to a private line): its turns hold.
    const main = a.memory.session(id).onBranch('main');
    await main.replaceHistoryWithCompaction([compaction('m'), user('brturn main kept')]);
    await settle();
    expect(await turns('brturn', id)).toEqual({
      'main:brturn main kept': 1,
      'branch-1:brturn edited two': 2,
      'branch-1:brturn reply': 2,
    });

    // branch-2 from branch-1's turn 3 (not there yet: add it), inheriting branch-1's rows.
    const one = a.memory.session(id).onBranch('branch-1');
    await one.addItems([user('brturn three on one')]);
    await one.createBranchFromTurn(3);
    const two = a.memory.session(id).onBranch('branch-2');
    await two.addItems([assistant('brturn before'), user('brturn three on two')]);
    await settle();
    expect(await turns('brturn', id)).toEqual({
      'main:brturn main kept': 1,
      'branch-1:brturn edited two': 2,
      'branch-1:brturn reply': 2,
      'branch-1:brturn three on one': 3,
      'branch-2:brturn before': 2,
      'branch-2:brturn three on two': 3,
    });
    // A pop on branch-2 of its own row, then a new one: the turn counts the line as it is now.
    await two.popItem();
    await two.addItems([user('brturn other three')]);
    await settle();
    expect((await turns('brturn', id))['branch-2:brturn other three']).toBe(3);
  });

  it('is left undefined while an earlier row of the line has no entry (never a guess), known again after reindex', async () => {
    const id = `${prefix}-unindexed`;
    await a.memory.session(id).addItems([user('first'), user('gapturn second')]);
    await settle();
    const m = a.tables.messages;
    await a.sql(
      `DELETE FROM ${m}_search WHERE session_id = ? AND item_id = (SELECT MIN(id) FROM ${m} WHERE session_id = ?)`,
      [id, id],
    );
    expect(await turns('gapturn', id)).toEqual({ 'main:gapturn second': undefined });
    let cursor: string | undefined;
    do cursor = (await b.memory.reindex({ batchSize: 10_000, cursor })).nextCursor;
    while (cursor);
    expect(await turns('gapturn', id)).toEqual({ 'main:gapturn second': 2 });
  });
});
