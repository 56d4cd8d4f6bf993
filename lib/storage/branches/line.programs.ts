import { randomBytes } from 'node:crypto';
import type { StatementProgram } from '../program/statement-program';
import type { StoredRow } from '../session-store';
import { BranchStatements, SegmentRow } from './branch.statements';
import { BranchViewSql, ViewRow, isOwnRow, viewRowId } from './branch-view.sql';

/**
 * The programs that keep every branch's view true while a line's rows change (docs/conversation-structure.md,
 * "How branches are stored"). A branch inherits ranges of other lines (segments) without copying them;
 * before a line loses or changes rows some branch inherits, that branch gets its own copy of what it
 * inherits ("freezing": server-side copies into a private line `~...`, no text through the client).
 * @internal
 */

/** A fresh private line id (a copy of what one branch inherited). */
function privateLineId(): string {
  return `~${randomBytes(8).toString('hex')}`;
}

/** A view row as the layers above see a stored row: its view id and text. */
export function storedRowOf(row: ViewRow): StoredRow {
  return { id: viewRowId(row.pos, row.id), message_data: row.message_data };
}

/**
 * Gives every branch that inherits rows of line `lineId` with ids from `fromId` on its own copy of all
 * it inherits (then line `lineId` may change). Returns how many branches were frozen.
 */
export function* freezeReferences(
  st: BranchStatements,
  sessionId: string,
  lineId: string,
  fromId: bigint = 0n,
): StatementProgram<number> {
  const segments = (yield st.segments(sessionId)) as SegmentRow[];
  const byBranch = new Map<string, SegmentRow[]>();
  for (const s of segments) {
    const list = byBranch.get(s.branch_id) ?? [];
    list.push(s);
    byBranch.set(s.branch_id, list);
  }
  let frozen = 0;
  for (const [branchId, list] of byBranch) {
    if (!list.some((s) => s.source_id === lineId && BigInt(s.up_to) >= fromId)) continue;
    list.sort((a, b) => Number(a.position) - Number(b.position));
    const copy = privateLineId();
    for (const s of list) {
      if (!st.copyThroughClient) {
        yield st.copyRows(sessionId, copy, s.source_id, String(s.up_to));
        continue;
      }
      const rows = (yield st.lineRows(sessionId, s.source_id, String(s.up_to))) as {
        message_data: string;
        created_at: unknown;
      }[];
      yield* st.insertRows(
        sessionId,
        copy,
        rows.map((r) => r.message_data),
        rows.map((r) => r.created_at),
      );
    }
    const [{ max_id }] = (yield st.newestId(sessionId, copy)) as { max_id: number | string | null }[];
    yield st.deleteSegments(sessionId, branchId);
    if (max_id !== null && max_id !== undefined) yield st.insertSegment(sessionId, branchId, 0, copy, String(max_id));
    frozen++;
  }
  return frozen;
}

/**
 * Removes the newest rows of a branch's view (`newestFirst`: contiguous from the newest): its own rows
 * are deleted (after freezing branches that inherit them); inherited ones leave the view by moving its
 * segments' bounds (the lines they belong to are not touched).
 */
export function* removeNewest(
  st: BranchStatements,
  sessionId: string,
  branchId: string,
  newestFirst: readonly ViewRow[],
): StatementProgram<void> {
  if (newestFirst.length === 0) return;
  const own = newestFirst.filter(isOwnRow);
  const inherited = newestFirst.filter((r) => !isOwnRow(r));
  if (own.length > 0) {
    const oldestOwn = BigInt(own[own.length - 1].id);
    yield* freezeReferences(st, sessionId, branchId, oldestOwn);
    yield* st.deleteLineIds(
      sessionId,
      branchId,
      own.map((r) => r.id),
    );
  }
  if (inherited.length > 0) {
    const oldest = inherited[inherited.length - 1];
    const pos = Number(oldest.pos);
    yield st.deleteSegments(sessionId, branchId, pos + 1);
    yield st.setSegmentUpTo(sessionId, branchId, pos, (BigInt(oldest.id) - 1n).toString());
  }
  yield st.deleteUnreferencedCopies(sessionId);
  yield st.touch(sessionId);
}

/** Makes `texts` the whole history of a branch: its own rows, no segments (branches inheriting its rows frozen first). */
export function* rebuildBranch(
  st: BranchStatements,
  sessionId: string,
  branchId: string,
  texts: readonly string[],
): StatementProgram<void> {
  yield* freezeReferences(st, sessionId, branchId);
  yield st.deleteLine(sessionId, branchId);
  yield st.deleteSegments(sessionId, branchId);
  yield* st.insertRows(sessionId, branchId, texts);
  yield st.deleteUnreferencedCopies(sessionId);
  yield st.touch(sessionId);
}

/** The whole view of a branch, oldest first (in a locked program: the rows it will change). */
export function* wholeView(view: BranchViewSql, sessionId: string, branchId: string): StatementProgram<ViewRow[]> {
  return (yield view.read(sessionId, branchId, { newest: false, whileCurrent: false })) as ViewRow[];
}

/** The newest `limit` rows of a branch's view (below view id `before`), newest first. */
export function* newestOfView(
  view: BranchViewSql,
  sessionId: string,
  branchId: string,
  limit: number,
  before?: string,
): StatementProgram<ViewRow[]> {
  return (yield view.read(sessionId, branchId, { newest: true, whileCurrent: false }, limit, before)) as ViewRow[];
}
