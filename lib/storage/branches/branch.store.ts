import { BranchNotFoundError, InvalidBranchOperationError } from '../../exceptions';
import type { LockedProgram, StatementProgram } from '../program/statement-program';
import type { StoredRow } from '../session-store';
import type { DialectSyntax } from '../dialect-syntax';
import type { OwnershipSql } from '../ownership.sql';
import type { ProgramStatements } from '../program/program-statements';
import type { TableNames } from '../table-names';
import { BranchRow, BranchStatements, SegmentRow } from './branch.statements';
import { BranchLineStore, LineAccess } from './branch-line.store';
import { BranchViewSql, MAIN_BRANCH, OWN_POSITION, splitViewRowId, viewRowId } from './branch-view.sql';
import { freezeReferences, storedRowOf, wholeView } from './line.programs';

/** Most conversations whose current branch a store remembers as a hint. */
const MAX_HINTS = 10_000;

/** What `createBranch` is asked: where from, and where to cut. @internal */
export interface BranchRequest {
  /** The branch the new one starts from (its history before the cut is inherited). */
  source: string;
  /**
   * Given the source's whole history (stored rows, oldest first), how many of its first rows the new
   * branch inherits, and the turn it starts from; may throw a typed error (nothing is written).
   */
  cut(rows: StoredRow[]): { rows: number; turn: number };
  name: string | null;
}

/**
 * The branches of conversations: creating (no item is copied: the new branch's segments point into
 * the lines it starts from), switching, deleting, listing, and the history of one branch as an item
 * store (`line`). Every write runs under the conversation's lock.
 * @internal
 */
export class BranchStore {
  /** The current branch last seen per conversation (a hint: a read checks it in its own statement). */
  private readonly hints = new Map<string, string>();

  constructor(private readonly access: LineAccess) {}

  /** The branch store of a dialect store: its tables, syntax, shared statements, ownership SQL and connection. */
  static of(
    names: TableNames,
    syntax: DialectSyntax,
    statements: ProgramStatements,
    ownership: OwnershipSql,
    connection: Pick<LineAccess, 'query' | 'queryData' | 'runLocked' | 'writeMetadata'>,
  ): BranchStore {
    return new BranchStore({
      ...connection,
      statements,
      branch: new BranchStatements(names, syntax),
      view: new BranchViewSql(names, syntax),
      ownerCondition: (filter, bindId, bindOwner) => ownership.ownerCondition(filter.unowned, bindId, bindOwner),
    });
  }

  /** The current branch last seen for the conversation here, if any (a hint, not the truth). */
  hint(sessionId: string): string | undefined {
    return this.hints.get(sessionId);
  }

  /** Remembers the current branch seen for the conversation (at most `MAX_HINTS`, oldest dropped). */
  seen(sessionId: string, branchId: string): void {
    this.hints.delete(sessionId);
    if (branchId === MAIN_BRANCH) return; // the default: nothing to remember
    if (this.hints.size >= MAX_HINTS) this.hints.delete(this.hints.keys().next().value as string);
    this.hints.set(sessionId, branchId);
  }

  /** The item store of `branchId` (not `main`); with `whileCurrent`, reads answer only while it is current. */
  line(branchId: string, whileCurrent = false): BranchLineStore {
    return new BranchLineStore(this.access, branchId, whileCurrent);
  }

  /** The conversation's current branch (`main` when none is marked). */
  async current(sessionId: string): Promise<string> {
    const step = this.access.branch.current(sessionId);
    const rows = await this.access.query<{ branch_id: string }>(step.sql, step.params);
    return rows[0]?.branch_id ?? MAIN_BRANCH;
  }

  /**
   * When each row of `branchId`'s history was stored (epoch milliseconds by the database clock), by the
   * row ids its reads give (view ids on a branch, row ids on main).
   */
  async times(sessionId: string, branchId: string): Promise<Map<string, number>> {
    const { view, branch } = this.access;
    const step =
      branchId === MAIN_BRANCH
        ? branch.mainTimes(sessionId)
        : view.read(sessionId, branchId, { newest: false, whileCurrent: false, withTime: true });
    const rows = await this.access.query<{ pos?: number | string; id: number | string; created_ms: number | string }>(
      step.sql,
      step.params,
    );
    const out = new Map<string, number>();
    for (const row of rows) {
      out.set(row.pos === undefined ? String(row.id) : viewRowId(row.pos, row.id), Number(row.created_ms));
    }
    return out;
  }

  /** Every branch row of the conversation (deleted ones too: their tombstones). */
  list(sessionId: string): Promise<BranchRow[]> {
    const step = this.access.branch.branches(sessionId);
    return this.access.query<BranchRow>(step.sql, step.params);
  }

  /** Creates a branch from `request.source` and makes it current. Returns its id (never one used before). */
  create(sessionId: string, request: BranchRequest): Promise<string> {
    const { branch, view, statements } = this.access;
    return this.access.runLocked(sessionId, function* (): StatementProgram<string> {
      const rows = (yield branch.branches(sessionId)) as BranchRow[];
      const live = (id: string) =>
        id === MAIN_BRANCH || rows.some((r) => r.branch_id === id && Number(r.deleted) === 0);
      if (!live(request.source)) throw new BranchNotFoundError(sessionId, request.source);
      if (request.name !== null && rows.some((r) => Number(r.deleted) === 0 && r.name === request.name)) {
        throw new InvalidBranchOperationError(
          `Conversation ${JSON.stringify(sessionId)} already has a branch named ${JSON.stringify(request.name)}: choose another name.`,
        );
      }
      const sourceRows =
        request.source === MAIN_BRANCH
          ? ((yield statements.allRowsLocked(sessionId)) as StoredRow[])
          : (yield* wholeView(view, sessionId, request.source)).map(storedRowOf);
      const { rows: inherit, turn } = request.cut(sourceRows);
      const segments: { source: string; upTo: string }[] = [];
      if (inherit > 0) {
        const last = sourceRows[inherit - 1];
        if (request.source === MAIN_BRANCH) segments.push({ source: MAIN_BRANCH, upTo: String(last.id) });
        else {
          const { pos, id } = splitViewRowId(last.id);
          const all = (yield branch.segments(sessionId)) as SegmentRow[];
          const parents = all
            .filter((s) => s.branch_id === request.source && Number(s.position) <= pos)
            .sort((a, b) => Number(a.position) - Number(b.position));
          for (const s of parents) {
            segments.push({ source: s.source_id, upTo: Number(s.position) === pos ? id.toString() : String(s.up_to) });
          }
          if (pos === OWN_POSITION) segments.push({ source: request.source, upTo: id.toString() });
        }
      }
      const id = `branch-${rows.filter((r) => r.branch_id !== MAIN_BRANCH).length + 1}`;
      if (!rows.some((r) => r.branch_id === MAIN_BRANCH)) {
        yield branch.insertBranch(sessionId, { id: MAIN_BRANCH, name: MAIN_BRANCH, parent: null, fromTurn: null });
      }
      yield branch.insertBranch(sessionId, {
        id,
        name: request.name,
        parent: request.source,
        fromTurn: turn,
      });
      for (let position = 0; position < segments.length; position++) {
        yield branch.insertSegment(sessionId, id, position, segments[position].source, segments[position].upTo);
      }
      yield branch.setCurrent(sessionId, id);
      yield branch.touch(sessionId);
      return id;
    });
  }

  /** Makes `branchId` (or `main`) the current branch. */
  switchTo(sessionId: string, branchId: string): Promise<void> {
    const { branch } = this.access;
    return this.access.runLocked(
      sessionId,
      function* (): StatementProgram<void> {
        const rows = (yield branch.branches(sessionId)) as BranchRow[];
        if (branchId === MAIN_BRANCH && rows.length === 0) return; // never branched: main is current
        if (branchId !== MAIN_BRANCH && !rows.some((r) => r.branch_id === branchId && Number(r.deleted) === 0)) {
          throw new BranchNotFoundError(sessionId, branchId);
        }
        yield branch.setCurrent(sessionId, branchId);
      },
      {
        ifMissing: () => {
          if (branchId !== MAIN_BRANCH) throw new BranchNotFoundError(sessionId, branchId);
        },
      },
    );
  }

  /**
   * Deletes a branch (never `main`): its own rows, its segments; branches inheriting its rows get a copy
   * first. The current branch only with `force` (main becomes current). Its id is never given again.
   */
  remove(sessionId: string, branchId: string, force: boolean): Promise<void> {
    const { branch } = this.access;
    return this.access.runLocked(
      sessionId,
      function* (): StatementProgram<void> {
        const rows = (yield branch.branches(sessionId)) as BranchRow[];
        const row = rows.find((r) => r.branch_id === branchId && Number(r.deleted) === 0);
        if (!row) throw new BranchNotFoundError(sessionId, branchId);
        const current = Number(row.is_current) === 1;
        if (current && !force) {
          throw new InvalidBranchOperationError(
            `Branch ${JSON.stringify(branchId)} is the current branch of conversation ${JSON.stringify(sessionId)}: ` +
              'switch to another branch first, or pass { force: true } (main becomes current).',
          );
        }
        yield* freezeReferences(branch, sessionId, branchId);
        yield branch.deleteLine(sessionId, branchId);
        yield branch.deleteSegments(sessionId, branchId);
        yield branch.markDeleted(sessionId, branchId);
        if (current) yield branch.setCurrent(sessionId, MAIN_BRANCH);
        yield branch.deleteUnreferencedCopies(sessionId);
      },
      {
        ifMissing: () => {
          throw new BranchNotFoundError(sessionId, branchId);
        },
      },
    );
  }

  /** `program`, run only while main is the conversation's current branch; `otherwise()` answers else. */
  whileMainIsCurrent<T>(sessionId: string, program: LockedProgram<T>, otherwise: () => T): LockedProgram<T> {
    const { branch } = this.access;
    return function* (): StatementProgram<T> {
      const rows = (yield branch.current(sessionId)) as { branch_id: string }[];
      if (rows.length > 0 && rows[0].branch_id !== MAIN_BRANCH) return otherwise();
      return yield* program();
    };
  }

  /** `program`, after giving the branches that inherit main's rows their own copy (`freezeMain`). */
  protectingMain<T>(sessionId: string, program: LockedProgram<T>): LockedProgram<T> {
    const freeze = () => this.freezeMain(sessionId);
    return function* (): StatementProgram<T> {
      yield* freeze();
      return yield* program();
    };
  }

  /**
   * A program step for every operation that deletes or changes rows of the main line: branches that
   * inherit main's rows get their own copy first (a no-op read for a conversation without branches).
   */
  freezeMain(sessionId: string): StatementProgram<number> {
    return freezeReferences(this.access.branch, sessionId, MAIN_BRANCH);
  }
}
