import { BranchNotFoundError } from '../../exceptions';
import { historyOperationLog } from '../program/history.program';
import type { ProgramStatements } from '../program/program-statements';
import { LockedOptions, LockedProgram, StatementProgram, isApplied, popCommits } from '../program/statement-program';
import type {
  HistoryOutcome,
  HistoryPlan,
  ItemRewrite,
  OwnerFilter,
  PopDecision,
  PopOutcome,
  ReplaceOutcome,
  SessionStore,
  StoredColumns,
  StoredRow,
} from '../session-store';
import type { BranchStatements } from './branch.statements';
import { BranchViewSql, OWN_POSITION, ViewRow, splitViewRowId, viewRowId } from './branch-view.sql';
import { newestOfView, rebuildBranch, removeNewest, storedRowOf, wholeView } from './line.programs';

/** The item operations a store offers for one line of history (the sealing layer wraps one). @internal */
export type ItemStore = Pick<
  SessionStore,
  | 'readAll'
  | 'readNewest'
  | 'readAllData'
  | 'readNewestData'
  | 'append'
  | 'writeMetadata'
  | 'popNewest'
  | 'clearItems'
  | 'replaceItems'
  | 'rewriteItems'
  | 'applyHistory'
>;

/** What a branch line needs of its store: its connection and the shared statements. @internal */
export interface LineAccess {
  query<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** One statement selecting only `message_data`: those texts (the dialect's cheapest form). */
  queryData(sql: string, params: unknown[]): Promise<string[]>;
  runLocked<T>(sessionId: string, program: LockedProgram<T>, options?: LockedOptions<T>): Promise<T>;
  writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void>;
  readonly statements: ProgramStatements;
  readonly branch: BranchStatements;
  readonly view: BranchViewSql;
  /** The owner condition of an owner-checked read (see OwnershipSql.ownerCondition). */
  ownerCondition(filter: OwnerFilter, bindId: () => string, bindOwner: () => string): string;
}

/** Most rows a branch pop reads at once (corrupt rows above the newest valid one). */
const POP_BATCH_MAX = 1000;

/**
 * The history of one branch other than `main`, as an item store: reads are its view (inherited
 * segments, then its own rows; one statement), writes run under the conversation's lock as branch
 * programs (`line.programs.ts`). Row ids are view ids (`viewRowId`). A branch that does not exist (or
 * was deleted) is refused with `BranchNotFoundError` by every write, and by a read that finds nothing.
 * @internal
 */
export class BranchLineStore implements ItemStore {
  constructor(
    private readonly access: LineAccess,
    /** The branch (never `main`). */
    readonly branchId: string,
    /** Reads return nothing unless this branch is the conversation's current one (a session that follows the pointer). */
    private readonly whileCurrent = false,
  ) {}

  // ---- reads

  private async read(
    sessionId: string,
    newest: boolean,
    limit?: number,
    before?: number | string,
    filter?: OwnerFilter,
    ownFirst = true,
  ): Promise<ViewRow[]> {
    const shape = { newest, whileCurrent: this.whileCurrent, filter: filter && this.ownerFilter(filter) };
    const query = (ownOnly: boolean) => {
      const step = this.access.view.read(sessionId, this.branchId, { ...shape, ownOnly }, limit, before, filter?.owner);
      return this.access.query<ViewRow>(step.sql, step.params);
    };
    // The newest N: first the branch's own rows alone (one index range); the whole view only when it has
    // fewer than N of them below `before`.
    const beforeOwn = before === undefined || splitViewRowId(before).pos === OWN_POSITION;
    if (ownFirst && newest && limit !== undefined && beforeOwn) {
      const own = await query(true);
      if (own.length === limit) return own;
    }
    return query(false);
  }

  private ownerFilter(filter: OwnerFilter) {
    return (bindId: () => string, bindOwner: () => string) => this.access.ownerCondition(filter, bindId, bindOwner);
  }

  async readAll(sessionId: string, filter?: OwnerFilter): Promise<StoredColumns> {
    const rows = await this.read(sessionId, false, undefined, undefined, filter);
    return { ids: rows.map((r) => viewRowId(r.pos, r.id)), texts: rows.map((r) => r.message_data) };
  }

  async readNewest(
    sessionId: string,
    limit: number,
    beforeId?: number | string,
    filter?: OwnerFilter,
  ): Promise<StoredRow[]> {
    return (await this.read(sessionId, true, limit, beforeId, filter)).map(storedRowOf);
  }

  async readAllData(sessionId: string, filter?: OwnerFilter): Promise<string[]> {
    return (await this.read(sessionId, false, undefined, undefined, filter)).map((r) => r.message_data);
  }

  async readNewestData(sessionId: string, limit: number, filter?: OwnerFilter): Promise<string[]> {
    // The branch's own rows alone, their texts only (as main's read); the whole view when it has fewer.
    const shape = { newest: true, whileCurrent: this.whileCurrent, ownOnly: true, dataOnly: true };
    const step = this.access.view.read(
      sessionId,
      this.branchId,
      { ...shape, filter: filter && this.ownerFilter(filter) },
      limit,
      undefined,
      filter?.owner,
    );
    const own = await this.access.queryData(step.sql, step.params);
    if (own.length === limit) return own;
    return (await this.read(sessionId, true, limit, undefined, filter, false)).map((r) => r.message_data);
  }

  // ---- writes, under the conversation's lock

  /** Runs `program` after checking that the branch exists (else `BranchNotFoundError`, nothing written). */
  private locked<T>(sessionId: string, program: () => StatementProgram<T>, keep?: (result: T) => boolean): Promise<T> {
    const { branch } = this.access;
    const branchId = this.branchId;
    return this.access
      .runLocked<T | typeof MISSING>(
        sessionId,
        function* () {
          const rows = (yield branch.branches(sessionId)) as { branch_id: string; deleted: number | string }[];
          if (!rows.some((r) => r.branch_id === branchId && Number(r.deleted) === 0)) return MISSING;
          return yield* program();
        },
        { ifMissing: () => MISSING, keep: (r) => r !== MISSING && (keep ? keep(r as T) : true) },
      )
      .then((result) => {
        if (result === MISSING) throw new BranchNotFoundError(sessionId, branchId);
        return result as T;
      });
  }

  append(sessionId: string, data: string[]): Promise<boolean> {
    if (data.length === 0) return Promise.resolve(true);
    const { branch } = this.access;
    const branchId = this.branchId;
    return this.locked(sessionId, function* () {
      yield* branch.insertRows(sessionId, branchId, data);
      yield branch.touch(sessionId);
      return true;
    });
  }

  /** The metadata (a conversation's, not a branch's), then the items on this branch: two steps. */
  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    await this.access.writeMetadata(sessionId, json, []);
    await this.append(sessionId, items);
  }

  popNewest<T>(sessionId: string, decode: (text: string) => PopDecision<T>): Promise<PopOutcome<T>> {
    const { branch, view } = this.access;
    const branchId = this.branchId;
    return this.locked(
      sessionId,
      function* (): StatementProgram<PopOutcome<T>> {
        const gone: ViewRow[] = [];
        let kept = 0;
        let before: string | undefined;
        for (let batch = 1; ; batch = Math.min(batch * 10, POP_BATCH_MAX)) {
          const rows = yield* newestOfView(view, sessionId, branchId, batch, before);
          for (const row of rows) {
            const decision = decode(row.message_data);
            if (decision === 'keep') kept++;
            else if (kept > 0 && decision !== 'skip') return { skipped: { count: 0 }, unopenable: kept };
            else if (decision !== 'skip') {
              yield* removeNewest(branch, sessionId, branchId, [...gone, row]);
              return { row: storedRowOf(row), value: decision.value, skipped: skippedOf(gone) };
            } else if (kept === 0) gone.push(row);
          }
          if (rows.length < batch) {
            if (kept > 0) return { skipped: { count: 0 }, unopenable: kept };
            yield* removeNewest(branch, sessionId, branchId, gone);
            return { skipped: skippedOf(gone) };
          }
          before = viewRowId(rows[rows.length - 1].pos, rows[rows.length - 1].id);
        }
      },
      popCommits,
    );
  }

  clearItems(sessionId: string): Promise<void> {
    const { branch } = this.access;
    const branchId = this.branchId;
    return this.locked(sessionId, () => rebuildBranch(branch, sessionId, branchId, []));
  }

  replaceItems(sessionId: string, data: string[], keep: (rows: StoredRow[]) => string[]): Promise<ReplaceOutcome> {
    const { branch, view } = this.access;
    const branchId = this.branchId;
    return this.locked(sessionId, function* () {
      const rows = (yield* wholeView(view, sessionId, branchId)).map(storedRowOf);
      const kept = keep(rows);
      yield* rebuildBranch(branch, sessionId, branchId, [...data, ...kept]);
      return { removed: rows, kept };
    });
  }

  rewriteItems(
    sessionId: string,
    rewrite: (rows: StoredRow[]) => ItemRewrite | undefined,
  ): Promise<ItemRewrite | undefined> {
    const { branch, view } = this.access;
    const branchId = this.branchId;
    return this.locked(
      sessionId,
      function* () {
        const rows = (yield* wholeView(view, sessionId, branchId)).map(storedRowOf);
        const change = rewrite(rows);
        if (!change || (change.updates.length === 0 && change.deletes.length === 0)) return undefined;
        const updates = new Map(change.updates.map((u) => [String(u.id), u.data]));
        const deletes = new Set(change.deletes.map(String));
        const texts: string[] = [];
        for (const row of rows) {
          const id = String(row.id);
          if (!deletes.has(id)) texts.push(updates.get(id) ?? row.message_data);
        }
        yield* rebuildBranch(branch, sessionId, branchId, texts);
        return change;
      },
      (change) => change !== undefined,
    );
  }

  applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome> {
    const { branch, view, statements } = this.access;
    const branchId = this.branchId;
    return this.locked(
      sessionId,
      function* (): StatementProgram<HistoryOutcome> {
        const logged = yield* historyOperationLog(statements, sessionId, plan);
        if (logged) return logged;
        let removed: StoredRow[] = [];
        if (plan.replace && plan.replace.count > 0) {
          const rows = yield* newestOfView(view, sessionId, branchId, plan.replace.count);
          removed = rows.map(storedRowOf);
          if (rows.length !== plan.replace.count || !plan.replace.matches(removed)) return { status: 'mismatch' };
          yield* removeNewest(branch, sessionId, branchId, rows);
        }
        yield* branch.insertRows(sessionId, branchId, plan.append);
        yield branch.touch(sessionId);
        yield statements.recordOperation(sessionId, plan.operationId, plan.hash);
        return { status: 'applied', removed };
      },
      isApplied,
    );
  }
}

/** The answer of a locked program that found no such branch. */
const MISSING = Symbol('missing branch');

function skippedOf(rows: readonly ViewRow[]): PopOutcome<unknown>['skipped'] {
  if (rows.length === 0) return { count: 0 };
  return {
    count: rows.length,
    newestId: viewRowId(rows[0].pos, rows[0].id),
    oldestId: viewRowId(rows[rows.length - 1].pos, rows[rows.length - 1].id),
  };
}
