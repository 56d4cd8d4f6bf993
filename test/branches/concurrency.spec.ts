import { BranchNotFoundError, ConversationSession, InvalidBranchOperationError, SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { TestMemory, useMemoryPair } from '../support/memory';
import { texts, user } from '../support/items';

/**
 * Issue 21, "Concurrency": two callers (two module instances on the same tables, as two processes)
 * creating branches, switching, deleting, writing and popping at once. Each write carries uniquely
 * tagged items; afterwards the stored lines and every branch's view are checked against what a
 * sequential model says they must hold given the outcomes observed (which calls succeeded, what each
 * read returned, the branch rows as listed).
 */

/** What one concurrent call did: its result, or the error it was refused with. */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The error of a refused call, which must be one of `allowed` (a typed refusal, nothing written). */
function expectRefusedWith(outcome: Outcome<unknown>, allowed: (new (...args: any[]) => Error)[], what: string): void {
  if (outcome.ok) return;
  const known = allowed.some((type) => outcome.error instanceof type);
  expect({ what, error: known ? 'typed' : String((outcome.error as Error)?.stack ?? outcome.error) }).toEqual({
    what,
    error: 'typed',
  });
}

/** A history's texts. */
const said = (items: readonly SessionItem[]) => texts(items);

/** The stored lines of a conversation: main (the messages table) and each branch's own rows (no private copies). */
async function storedLines(m: TestMemory, id: string): Promise<Map<string, string[]>> {
  const lines = new Map<string, string[]>();
  const main = await m.sql<{ message_data: string }>(
    `SELECT message_data FROM ${m.tables.messages} WHERE session_id = ? ORDER BY id`,
    [id],
  );
  lines.set(
    'main',
    main.map((r) => JSON.parse(r.message_data).content),
  );
  const own = await m.sql<{ branch_id: string; message_data: string }>(
    `SELECT branch_id, message_data FROM ${m.tables.messages}_branch_items WHERE session_id = ? ORDER BY id`,
    [id],
  );
  for (const r of own) {
    if (r.branch_id.startsWith('~')) continue;
    lines.set(r.branch_id, [...(lines.get(r.branch_id) ?? []), JSON.parse(r.message_data).content]);
  }
  return lines;
}

/** Where each text is stored (line and index); fails on a text stored twice. */
function locate(lines: Map<string, string[]>): Map<string, { line: string; index: number }> {
  const at = new Map<string, { line: string; index: number }>();
  for (const [line, list] of lines) {
    list.forEach((text, index) => {
      expect({ text, twice: at.has(text) }).toEqual({ text, twice: false });
      at.set(text, { line, index });
    });
  }
  return at;
}

/** The invariants of the branch pointer and listing, seen from both instances. */
async function expectCoherentBranches(a: TestMemory, b: TestMemory, id: string, created: string[]): Promise<void> {
  const [listA, listB] = await Promise.all([a.memory.session(id).listBranches(), b.memory.session(id).listBranches()]);
  expect(listB).toEqual(listA);
  expect(listA.filter((x) => x.isCurrent)).toHaveLength(1);
  const current = listA.find((x) => x.isCurrent)!.branchId;
  expect(await a.memory.session(id).getCurrentBranch()).toBe(current);
  expect(await b.memory.session(id).getCurrentBranch()).toBe(current);
  // The stored pointer: at most one row marked current, never a deleted one.
  const marked = await a.sql<{ branch_id: string; deleted: number | string }>(
    `SELECT branch_id, deleted FROM ${a.tables.sessions}_branches WHERE session_id = ? AND is_current = 1`,
    [id],
  );
  expect(marked.length).toBeLessThanOrEqual(1);
  for (const row of marked)
    expect({ row: row.branch_id, deleted: Number(row.deleted) }).toEqual({ row: current, deleted: 0 });
  // Ids: every create returned its own id, numbered from 1 without gaps; none was given twice.
  expect(new Set(created).size).toBe(created.length);
  const numbers = created.map((x) => Number(x.replace('branch-', ''))).sort((x, y) => x - y);
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  const stored = await a.sql<{ branch_id: string }>(
    `SELECT branch_id FROM ${a.tables.sessions}_branches WHERE session_id = ? AND branch_id <> 'main'`,
    [id],
  );
  expect(stored.map((r) => r.branch_id).sort()).toEqual([...created].sort());
  for (const listed of listA) expect(['main', ...created]).toContain(listed.branchId);
}

describeEachDialect('branches: two instances at once', (dialect, baseUrl) => {
  const [a, b] = useMemoryPair(dialect, baseUrl);
  let n = 0;
  const fresh = () => `conc-${dialect}-${Date.now()}-${n++}`;
  const ROUNDS = 4;

  it('creating, switching and writing at once loses nothing; every branch holds what the model says', async () => {
    const id = fresh();
    const seed = ['q1', 'q2', 'q3', 'q4'];
    await a.memory.session(id).addItems(seed.map(user));
    const created: string[] = [];
    /** Successful writes: texts, the branch a bound write named (undefined: followed the pointer), a read before it. */
    const writes: { tags: string[]; bound?: string; read?: string[] }[] = [];
    const refused: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const known = ['main', ...created];
      const pick = (k: number) => known[(round * 7 + k) % known.length];
      const ops: Promise<void>[] = [];
      const write = (tag: string, session: ConversationSession, bound?: string, read = false) =>
        ops.push(
          (async () => {
            const tags = [`${tag}-0`, `${tag}-1`];
            const seen = read ? said(await session.getItems()) : undefined;
            const outcome = await settle(() => session.addItems(tags.map(user)));
            expectRefusedWith(outcome, [], tag);
            if (outcome.ok) writes.push({ tags, bound, read: seen });
            else refused.push(...tags);
          })(),
        );
      for (const [who, name] of [
        [a, 'A'],
        [b, 'B'],
      ] as const) {
        const s = () => who.memory.session(id);
        ops.push(
          settle(() => s().createBranchFromTurn(2 + (round % 2), { name: `${name}${round}` })).then((o) => {
            expectRefusedWith(o, [InvalidBranchOperationError], `create ${name}${round}`);
            if (o.ok) created.push(o.value);
          }),
        );
        ops.push(
          settle(() => s().switchToBranch(pick(name === 'A' ? 1 : 2))).then((o) => expectRefusedWith(o, [], 'switch')),
        );
        for (let k = 0; k < 2; k++) {
          const target = pick(k + (name === 'A' ? 0 : 3));
          write(`${name}${round}b${k}`, s().onBranch(target), target);
        }
        write(`${name}${round}f`, s());
        write(`${name}${round}r`, s(), undefined, true);
      }
      await Promise.all(ops);
    }

    await expectCoherentBranches(a, b, id, created);
    // Nothing lost, nothing duplicated: each written text stored once, a write's items together and in order.
    const lines = await storedLines(a, id);
    const at = locate(lines);
    for (const w of writes) {
      const [first, second] = w.tags.map((t) => at.get(t));
      expect({ tag: w.tags[0], stored: !!first && !!second }).toEqual({ tag: w.tags[0], stored: true });
      expect(second).toEqual({ line: first!.line, index: first!.index + 1 });
      if (w.bound) expect({ tag: w.tags[0], line: first!.line }).toEqual({ tag: w.tags[0], line: w.bound });
    }
    for (const tag of refused) expect(at.has(tag)).toBe(false);
    expect(lines.get('main')!.slice(0, seed.length)).toEqual(seed);
    expect(at.size).toBe(seed.length + writes.length * 2);

    // Each view is its parent's history before the turn it started from, then its own rows.
    const listed = await a.memory.session(id).listBranches();
    const views = new Map<string, string[]>();
    for (const x of listed) views.set(x.branchId, said(await b.memory.session(id).onBranch(x.branchId).getItems()));
    expect(views.get('main')).toEqual(lines.get('main'));
    for (const x of listed.filter((y) => y.branchId !== 'main')) {
      const parent = views.get(x.parentBranchId!)!;
      const own = lines.get(x.branchId) ?? [];
      expect({ branch: x.branchId, view: views.get(x.branchId) }).toEqual({
        branch: x.branchId,
        view: [...parent.slice(0, x.fromTurn! - 1), ...own],
      });
      expect(x.messageCount).toBe(views.get(x.branchId)!.length);
    }
    // A write after a read went to the branch it read: that view began with what the read returned.
    for (const w of writes.filter((x) => x.read)) {
      const { line } = at.get(w.tags[0])!;
      const view = views.get(line)!;
      expect({ tag: w.tags[0], before: view.slice(0, w.read!.length) }).toEqual({ tag: w.tags[0], before: w.read });
      expect(view.indexOf(w.tags[0])).toBeGreaterThanOrEqual(w.read!.length);
    }
  });

  it('deleting, creating and switching at once never leaves the pointer on a missing branch; ids are never reused', async () => {
    const id = fresh();
    await a.memory.session(id).addItems(['q1', 'q2', 'q3'].map(user));
    const created: string[] = [];
    const deleted = new Set<string>();
    const writes: string[][] = [];
    for (let round = 0; round < ROUNDS + 2; round++) {
      const ops: Promise<void>[] = [];
      const live = created.filter((x) => !deleted.has(x));
      for (const [who, name] of [
        [a, 'A'],
        [b, 'B'],
      ] as const) {
        const s = () => who.memory.session(id);
        ops.push(
          settle(() => s().createBranchFromTurn(2)).then((o) => {
            expectRefusedWith(o, [InvalidBranchOperationError, BranchNotFoundError], 'create');
            if (o.ok) created.push(o.value);
          }),
        );
        const victim = live[(round + (name === 'A' ? 0 : 1)) % Math.max(live.length, 1)];
        if (victim) {
          ops.push(
            settle(() => s().deleteBranch(victim, { force: true })).then((o) => {
              expectRefusedWith(o, [BranchNotFoundError], `delete ${victim}`);
              if (o.ok) deleted.add(victim);
            }),
          );
        }
        const to = live[(round + (name === 'A' ? 1 : 0)) % Math.max(live.length, 1)] ?? 'main';
        ops.push(
          settle(() => s().switchToBranch(to)).then((o) => expectRefusedWith(o, [BranchNotFoundError], 'switch')),
        );
        const tags = [`${name}${round}-0`, `${name}${round}-1`];
        ops.push(
          settle(() => s().addItems(tags.map(user))).then((o) => {
            expectRefusedWith(o, [BranchNotFoundError], `write ${tags[0]}`);
            if (o.ok) writes.push(tags);
          }),
        );
      }
      await Promise.all(ops);
      await expectCoherentBranches(a, b, id, created);
      const listed = (await b.memory.session(id).listBranches()).map((x) => x.branchId);
      expect(listed).toEqual([
        'main',
        ...created.filter((x) => !deleted.has(x)).sort((x, y) => Number(x.slice(7)) - Number(y.slice(7))),
      ]);
    }
    expect(deleted.size).toBeGreaterThan(0);
    // Every successful write is stored once (or was on a branch deleted since), never twice; views start with q1.
    const at = locate(await storedLines(a, id));
    for (const tags of writes) {
      const where = tags.map((t) => at.get(t));
      if (where[0] === undefined) {
        expect(where[1]).toBeUndefined();
        continue;
      }
      expect(where[1]).toEqual({ line: where[0].line, index: where[0].index + 1 });
      expect(where[0].line === 'main' || !deleted.has(where[0].line)).toBe(true);
    }
    for (const x of await a.memory.session(id).listBranches()) {
      const view = said(await a.memory.session(id).onBranch(x.branchId).getItems());
      expect(view[0]).toBe('q1');
      expect(new Set(view).size).toBe(view.length);
    }
  });

  it('concurrent pops on a branch return each item once (own and inherited), freezing the branch started from it', async () => {
    const id = fresh();
    const main = Array.from({ length: 6 }, (_, i) => `m${i + 1}`);
    await a.memory.session(id).addItems(main.map(user));
    await a.memory.session(id).createBranchFromTurn(4); // branch-1: m1 m2 m3
    const own = Array.from({ length: 8 }, (_, i) => `own${i + 1}`);
    await a.memory.session(id).addItems(own.map(user));
    await a.memory.session(id).createBranchFromTurn(8); // branch-2: m1 m2 m3 own1..own4 (branch-1's rows)
    await a.memory.session(id).addItems([user('b2')]);
    const pops = await Promise.all(
      Array.from({ length: 14 }, (_, i) => (i % 2 ? a : b).memory.session(id).onBranch('branch-1').popItem()),
    );
    const popped = pops.filter((p) => p !== undefined).map((p) => (p as { content: string }).content);
    expect(popped.sort()).toEqual([...main.slice(0, 3), ...own].sort());
    expect(pops.filter((p) => p === undefined)).toHaveLength(14 - 11);
    expect(await a.memory.session(id).onBranch('branch-1').getItems()).toEqual([]);
    expect(said(await b.memory.session(id).onBranch('branch-2').getItems())).toEqual([
      ...main.slice(0, 3),
      ...own.slice(0, 4),
      'b2',
    ]);
    expect(said(await b.memory.session(id).onBranch('main').getItems())).toEqual(main);
  });

  it("concurrent main pops while branches inherit main's rows: every branch keeps its history", async () => {
    const id = fresh();
    const main = Array.from({ length: 12 }, (_, i) => `m${i + 1}`);
    const s = a.memory.session(id);
    await s.addItems(main.map(user));
    await s.createBranchFromTurn(5); // branch-1: m1..m4
    await s.switchToBranch('main');
    await s.createBranchFromTurn(9); // branch-2: m1..m8
    await s.addItems([user('x1'), user('x2')]);
    await s.createBranchFromTurn(10); // branch-3: m1..m8 x1 (branch-2's row)
    await s.switchToBranch('main');
    const expected: Record<string, string[]> = {
      'branch-1': main.slice(0, 4),
      'branch-2': [...main.slice(0, 8), 'x1', 'x2'],
      'branch-3': [...main.slice(0, 8), 'x1'],
    };
    const ops: Promise<unknown>[] = [];
    const pops: Promise<SessionItem | undefined>[] = [];
    for (let i = 0; i < 14; i++) {
      const who = i % 2 ? a : b;
      pops.push(who.memory.session(id).onBranch('main').popItem());
      if (i % 3 === 0 && i < 9) {
        // one write per branch, so each branch's expected order is known
        const branch = `branch-${i / 3 + 1}`;
        const tag = `w${i}`;
        expected[branch] = [...expected[branch], tag];
        ops.push(
          who.memory
            .session(id)
            .onBranch(branch)
            .addItems([user(tag)]),
        );
      }
    }
    const [results] = await Promise.all([Promise.all(pops), Promise.all(ops)]);
    const popped = results.filter((p) => p !== undefined).map((p) => (p as { content: string }).content);
    expect(popped.sort()).toEqual([...main].sort());
    expect(await a.memory.session(id).onBranch('main').getItems()).toEqual([]);
    for (const [branch, want] of Object.entries(expected)) {
      expect({ branch, view: said(await b.memory.session(id).onBranch(branch).getItems()) }).toEqual({
        branch,
        view: want,
      });
    }
  });
});
