import Database from 'better-sqlite3';
import { BranchNotFoundError, InvalidBranchOperationError, SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { startMemory, urlFor, useMemory } from '../support/memory';
import { texts, user } from '../support/items';

const assistant = (text: string): SessionItem =>
  ({ role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] }) as SessionItem;
const said = (items: readonly unknown[]) =>
  items.map((i) => {
    const it = i as { role: string; content: string | { text: string }[] };
    return typeof it.content === 'string' ? it.content : it.content[0].text;
  });
/** A conversation of `turns` user/assistant pairs: q1, a1, q2, a2, ... */
const pairs = (turns: number, tag = ''): SessionItem[] =>
  Array.from({ length: turns }, (_, i) => [user(`q${i + 1}${tag}`), assistant(`a${i + 1}${tag}`)]).flat();

describeEachDialect('branches: edit a turn and regenerate', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);
  let n = 0;
  const fresh = () => m.memory.session(`br-${Date.now()}-${n++}`);

  it('a branch from turn t holds the history before it, becomes current, and addItems continues it', async () => {
    const s = fresh();
    await s.addItems(pairs(4));
    const id = await s.createBranchFromTurn(3, { name: 'retry' });
    expect(id).toBe('branch-1');
    expect(await s.getCurrentBranch()).toBe('branch-1');
    expect(said(await s.getItems())).toEqual(['q1', 'a1', 'q2', 'a2']);
    await s.addItems([user('q3 again'), assistant('a3 again')]);
    // another session object (another request) reads the current branch
    const other = m.memory.session(s.conversationId);
    expect(said(await other.getItems())).toEqual(['q1', 'a1', 'q2', 'a2', 'q3 again', 'a3 again']);
    expect(said(await other.getItems(3))).toEqual(['a2', 'q3 again', 'a3 again']);
    // main is untouched
    expect(said(await s.onBranch('main').getItems())).toEqual(said(pairs(4)));
    // the messages table holds exactly main (what Python's SQLAlchemySession reads)
    const rows = await m.sql<{ message_data: string }>(
      `SELECT message_data FROM ${m.tables.messages} WHERE session_id = ? ORDER BY id`,
      [s.conversationId],
    );
    expect(said(rows.map((r) => JSON.parse(r.message_data)))).toEqual(said(pairs(4)));
    // a write from a session that has not read goes to the current branch (checked in the append itself)
    await m.memory.session(s.conversationId).addItems([user('direct')]);
    expect(said(await other.getItems(2))).toEqual(['a3 again', 'direct']);
    await s.switchToBranch('main');
    expect(said(await m.memory.session(s.conversationId).getItems())).toEqual(said(pairs(4)));
    await m.memory.session(s.conversationId).addItems([user('on main')]);
    expect(said(await s.onBranch('main').getItems(1))).toEqual(['on main']);
    expect(said(await s.onBranch('branch-1').getItems(1))).toEqual(['direct']);
  });

  it('branches of branches, three levels deep, read and page as one line', async () => {
    const s = fresh();
    await s.addItems(pairs(5));
    await s.createBranchFromTurn(4); // q1..a3
    await s.addItems(pairs(2, 'b'));
    await s.createBranchFromTurn(5); // q1..a3, q1b, a1b
    await s.addItems(pairs(2, 'c'));
    await s.createBranchFromTurn(2); // cut inside main's part: q1, a1
    expect(said(await s.getItems())).toEqual(['q1', 'a1']);
    await s.switchToBranch('branch-2');
    const whole = said(await s.getItems());
    expect(whole).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q1b', 'a1b', 'q1c', 'a1c', 'q2c', 'a2c']);
    for (const limit of [1, 3, 5, 8, 12, 20]) expect(said(await s.getItems(limit))).toEqual(whole.slice(-limit));
    const pages: string[] = [];
    let before: string | undefined;
    do {
      const page = await s.getItemsPage({ limit: 5, before });
      pages.unshift(...said(page.items));
      before = page.before;
    } while (before);
    expect(pages).toEqual(whole);
    const listed = await s.listBranches();
    expect(
      listed.map((b) => [b.branchId, b.parentBranchId, b.fromTurn, b.messageCount, b.userTurns, b.isCurrent]),
    ).toEqual([
      ['main', null, null, 10, 5, false],
      ['branch-1', 'main', 4, 10, 5, false],
      ['branch-2', 'branch-1', 5, 12, 6, true],
      ['branch-3', 'branch-2', 2, 2, 1, false],
    ]);
  });

  it('pop, clear, compaction and mutations on a branch never change main or a sibling', async () => {
    const s = fresh();
    await s.addItems(pairs(3));
    await s.createBranchFromTurn(3); // q1 a1 q2 a2
    const b1 = s.onBranch('branch-1');
    expect(said([await b1.popItem()])).toEqual(['a2']); // inherited: leaves the view only
    await b1.addItems([assistant('a2 new')]);
    expect(said(await b1.getItems())).toEqual(['q1', 'a1', 'q2', 'a2 new']);
    expect(said([await b1.popItem()])).toEqual(['a2 new']); // its own row
    expect(said(await b1.getItems())).toEqual(['q1', 'a1', 'q2']);
    await s.switchToBranch('main');
    await s.createBranchFromTurn(2); // branch-2: q1 a1
    const b2 = s.onBranch('branch-2');
    await b2.clearSession();
    expect(await b2.getItems()).toEqual([]);
    await b2.addItems([user('fresh')]);
    expect(said(await b2.getItems())).toEqual(['fresh']);
    expect(said(await s.onBranch('main').getItems())).toEqual(said(pairs(3)));
    expect(said(await b1.getItems())).toEqual(['q1', 'a1', 'q2']);
  });

  it('main compacted or popped after branching: branches keep what they inherited', async () => {
    const s = fresh();
    await s.addItems(pairs(4));
    await s.createBranchFromTurn(4); // q1..a3
    await s.switchToBranch('main');
    const main = s.onBranch('main');
    for (let i = 0; i < 5; i++) await main.popItem(); // a4 q4 a3 q3 a2
    await main.clearSession();
    await main.addItems([user('after clear')]);
    expect(said(await s.onBranch('branch-1').getItems())).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3']);
    expect(said(await main.getItems())).toEqual(['after clear']);
  });

  it('deleting a branch keeps the branches started from it; ids are never reused', async () => {
    const s = fresh();
    await s.addItems(pairs(3));
    await s.createBranchFromTurn(3); // branch-1: q1 a1 q2 a2
    await s.addItems([user('q3x'), assistant('a3x'), user('q4x'), assistant('a4x')]);
    await s.createBranchFromTurn(4); // branch-2: q1 a1 q2 a2 q3x a3x (rows of branch-1's own)
    await s.addItems([user('q4y')]);
    await s.deleteBranch('branch-1');
    expect(said(await s.onBranch('branch-2').getItems())).toEqual(['q1', 'a1', 'q2', 'a2', 'q3x', 'a3x', 'q4y']);
    expect(said(await s.getItems(2))).toEqual(['a3x', 'q4y']);
    expect(await s.createBranchFromTurn(1)).toBe('branch-3');
    expect((await s.listBranches()).map((b) => b.branchId)).toEqual(['main', 'branch-2', 'branch-3']);
    await expect(s.switchToBranch('branch-1')).rejects.toBeInstanceOf(BranchNotFoundError);
  });

  it('deleteSession and clearSession: a conversation deleted leaves no branch rows; cleared, only its current branch is', async () => {
    const s = fresh();
    await s.addItems(pairs(3));
    await s.createBranchFromTurn(2);
    await s.addItems([user('on branch')]);
    await s.clearSession(); // the current branch
    expect(await s.getItems()).toEqual([]);
    expect(said(await s.onBranch('main').getItems())).toEqual(said(pairs(3)));
    const count = async (table: string) =>
      Number(
        (
          await m.sql<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table} WHERE session_id = ?`, [
            s.conversationId,
          ])
        )[0].n,
      );
    expect(await count(`${m.tables.sessions}_branches`)).toBe(2);
    expect(await m.memory.deleteSession(s.conversationId)).toBe(true);
    for (const table of [
      `${m.tables.sessions}_branches`,
      `${m.tables.sessions}_segments`,
      `${m.tables.messages}_branch_items`,
    ]) {
      expect(await count(table)).toBe(0);
    }
    expect(await m.memory.session(s.conversationId).getCurrentBranch()).toBe('main');
  });

  it('turns carry when their user message was stored, on main and on a branch', async () => {
    const s = fresh();
    const before = Date.now();
    await s.addItems(pairs(3));
    await s.createBranchFromTurn(3);
    await s.addItems([user('q3 edited')]);
    for (const turns of [await s.getConversationTurns(), await s.getConversationTurns({ branchId: 'main' })]) {
      expect(turns.length).toBe(3);
      for (const t of turns) {
        expect(t.timestamp).toBeInstanceOf(Date);
        // the database clock, within a day of this one (time zones)
        expect(Math.abs(t.timestamp!.getTime() - before)).toBeLessThan(24 * 3600 * 1000);
      }
    }
    expect((await s.getConversationTurns()).map((t) => t.content)).toEqual(['q1', 'q2', 'q3 edited']);
    expect((await s.findTurnsByContent('EDITED'))[0].timestamp).toBeInstanceOf(Date);
  });

  it('refuses bad input with typed errors before writing', async () => {
    const s = fresh();
    await s.addItems(pairs(2));
    for (const turn of [0, -1, 1.5, NaN, '1' as unknown as number]) {
      await expect(s.createBranchFromTurn(turn)).rejects.toBeInstanceOf(InvalidBranchOperationError);
    }
    await expect(s.createBranchFromTurn(3)).rejects.toBeInstanceOf(InvalidBranchOperationError);
    for (const name of ['', ' x', 'main', 'a\u0000b', 'x'.repeat(256), '\ud800'])
      await expect(s.createBranchFromTurn(1, { name })).rejects.toBeInstanceOf(InvalidBranchOperationError);
    await s.createBranchFromTurn(2, { name: 'v2' });
    await expect(s.createBranchFromTurn(1, { name: 'v2' })).rejects.toBeInstanceOf(InvalidBranchOperationError);
    for (const id of ['', 'branch-0', "main'; DROP TABLE x; --", 'Branch-1', 5 as unknown as string])
      await expect(s.switchToBranch(id)).rejects.toBeInstanceOf(InvalidBranchOperationError);
    await expect(s.switchToBranch('branch-9')).rejects.toBeInstanceOf(BranchNotFoundError);
    await expect(s.deleteBranch('main')).rejects.toBeInstanceOf(InvalidBranchOperationError);
    await expect(s.deleteBranch('branch-1')).rejects.toBeInstanceOf(InvalidBranchOperationError); // current
    await expect(s.onBranch('branch-7').addItems([user('x')])).rejects.toBeInstanceOf(BranchNotFoundError);
    expect((await s.listBranches()).map((b) => b.branchId)).toEqual(['main', 'branch-1']);
    await s.deleteBranch('branch-1', { force: true });
    expect(await s.getCurrentBranch()).toBe('main');
    await expect(s.onBranch('branch-1').addItems([user('x')])).rejects.toBeInstanceOf(BranchNotFoundError);
    expect(await s.createBranchFromTurn(2)).toBe('branch-2');
    expect(texts(await s.onBranch('main').getItems())[0]).toBe('q1');
  });

  // Python's SQLAlchemySession.clear_session deletes the messages and the session row, on SQLite with foreign
  // keys off (SQLAlchemy does not turn them on): the branch rows stay behind there, orphaned.
  it('a conversation cleared as Python clears it (session row deleted) starts over on main', async () => {
    const s = fresh();
    const id = s.conversationId;
    await s.addItems(pairs(3));
    await s.createBranchFromTurn(2);
    await s.addItems([user('q2 again')]);
    expect(said(await s.getItems())).toEqual(['q1', 'a1', 'q2 again']); // this process saw branch-1 current
    const pythonClear = [
      `DELETE FROM ${m.tables.messages} WHERE session_id = ?`,
      `DELETE FROM ${m.tables.sessions} WHERE session_id = ?`,
    ];
    if (dialect === 'sqlite') {
      const python = new Database(m.url.replace(/^sqlite:/, ''));
      try {
        python.pragma('foreign_keys = OFF');
        for (const sql of pythonClear) python.prepare(sql).run(id);
      } finally {
        python.close();
      }
    } else {
      for (const sql of pythonClear) await m.sql(sql, [id]);
    }
    expect(await s.getItems()).toEqual([]);
    expect(await m.memory.session(id).getItems()).toEqual([]);
    expect(await m.memory.session(id).getCurrentBranch()).toBe('main');
    await m.memory.session(id).addItems([user('after')]);
    expect(said(await m.memory.session(id).getItems())).toEqual(['after']);
    expect(said(await s.getItems())).toEqual(['after']);
    expect((await m.memory.session(id).listBranches()).map((b) => b.branchId)).toEqual(['main']);
    expect(await m.memory.session(id).createBranchFromTurn(1)).toBe('branch-1'); // ids start over with the conversation
  });

  it('two module instances agree on the current branch, and a run stays on the branch it read', async () => {
    const url = urlFor(dialect, baseUrl);
    const a = await startMemory(url);
    const b = await startMemory(url, {}, a.tables);
    try {
      const id = `two-${Date.now()}`;
      await a.memory.session(id).addItems(pairs(3));
      const tabA = a.memory.session(id);
      await tabA.createBranchFromTurn(2);
      expect(await b.memory.session(id).getCurrentBranch()).toBe('branch-1');
      expect(said(await b.memory.session(id).getItems())).toEqual(['q1', 'a1']);
      const run = b.memory.session(id);
      expect(said(await run.getItems())).toEqual(['q1', 'a1']); // the run read branch-1
      await a.memory.session(id).switchToBranch('main'); // another tab switches meanwhile
      await run.addItems([user('q2 other')]); // the run's write stays on branch-1
      expect(said(await a.memory.session(id).onBranch('branch-1').getItems())).toEqual(['q1', 'a1', 'q2 other']);
      expect(said(await a.memory.session(id).getItems())).toEqual(said(pairs(3)));
    } finally {
      await b.close();
      await a.close();
    }
  });
});
