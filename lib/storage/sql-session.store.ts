import { mainIsCurrent } from './branches/branch-conditions';
import { BranchStore } from './branches/branch.store';
import type { DialectSyntax } from './dialect-syntax';
import { LineReads, MainReads, TakeColumns } from './line-reads';
import { listingQuery } from './listing-query';
import { OwnershipSql } from './ownership.sql';
import { assignProgram, claimProgram } from './program/claim.program';
import { clearProgram } from './program/clear.program';
import { historyProgram } from './program/history.program';
import { popProgram } from './program/pop.program';
import { ProgramStatements } from './program/program-statements';
import { replaceProgram } from './program/replace.program';
import { rewriteProgram } from './program/rewrite.program';
import { LockedOptions, LockedProgram, isApplied, popCommits } from './program/statement-program';
import type {
  AppendOptions,
  HistoryOutcome,
  HistoryPlan,
  ItemRewrite,
  ListedSessionRow,
  NotificationChannel,
  OptionalTables,
  OwnerFilter,
  Ownership,
  PopDecision,
  PopOptions,
  PopOutcome,
  ReplaceOutcome,
  ResolvedTables,
  ScannedRow,
  SessionListQuery,
  SessionStore,
  SessionStoreDialect,
  StoredColumns,
  StoredRow,
} from './session-store';
import { ReadSql, SessionReads, rowsToColumns } from './session-reads';
import { TableNames, tableNames } from './table-names';
import { probeOptionalTables, verifyCoreTables } from './table-probes';
import { RowTable, scanRowsSql, swapRowTextSql } from './reencryption.sql';
import { UsageStore } from './usage/usage.store';

/**
 * What the dialect stores share, all SQL built from the dialect's `DialectSyntax`: the reads (`line-reads.ts`),
 * the listing (`listing-query.ts`), ownership (`ownership.sql.ts`), the probes, and the multi-statement
 * operations, each a statement program (`program/*.program.ts`) run by the dialect's `runLocked` in its own
 * kind of transaction. A dialect store (`<dialect>-session.store.ts`) supplies only its connection (`query`,
 * `runLocked`, `swapRow`), its one-statement writes (`append`, `deleteConversation`, ...) and DDL.
 * @internal
 */
export abstract class SqlSessionStore implements SessionStore {
  abstract readonly dialect: SessionStoreDialect;
  readonly notifications?: NotificationChannel;
  protected readonly names: TableNames;
  protected readonly reads: SessionReads;
  protected readonly ownership: OwnershipSql;
  private readonly mainReads: LineReads;
  private whileMainReads?: LineReads;
  /** The statements of the locked programs. */
  protected readonly statements: ProgramStatements;
  /** The branches of conversations (their tables are optional: see `useBranches`). */
  readonly branches: BranchStore;
  /**
   * Whether the branch tables exist: then every operation that deletes or changes main rows first gives
   * the branches inheriting them their own copy (`BranchStore.freezeMain`), and pops take the locked path.
   */
  protected branchesInUse = false;

  protected constructor(
    protected readonly tables: ResolvedTables,
    protected readonly syntax: DialectSyntax,
  ) {
    this.names = tableNames(tables, syntax.quote);
    this.reads = new SessionReads(this.names, syntax);
    this.ownership = new OwnershipSql(this.names, syntax, this.reads);
    this.mainReads = this.readsOf(this.reads, this.ownership);
    this.statements = new ProgramStatements(this.names, syntax, this.reads);
    this.branches = BranchStore.of(this.names, syntax, this.statements, this.ownership, {
      query: (sql, params) => this.query(sql, params),
      queryData: (sql, params) => this.queryData(sql, params),
      runLocked: (sessionId, program, options) => this.runLocked(sessionId, program, options),
      writeMetadata: (sessionId, json, items) => this.writeMetadata(sessionId, json, items),
    });
  }

  /** Tells the store that the branch tables exist (found at startup): main's writers then keep branches true. */
  useBranches(inUse: boolean): void {
    this.branchesInUse = inUse;
  }

  /** `program`, after freezing the branches that inherit main rows when branches are in use. */
  private protectingBranches<T>(sessionId: string, program: LockedProgram<T>): LockedProgram<T> {
    return this.branchesInUse ? this.branches.protectingMain(sessionId, program) : program;
  }

  // ---- the dialect's connection ------------------------------------------------------------------

  /** Runs one statement outside any transaction and returns its rows (none for a write). */
  protected abstract query<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** Runs an UPDATE and tells whether it changed a row. */
  protected abstract swapRow(sql: string, params: unknown[]): Promise<boolean>;
  /**
   * Runs `program` in one transaction holding the conversation's session-row lock (taken first, the lock
   * order of every writer), creating the row if it is missing unless `options.ifMissing` answers instead.
   */
  protected abstract runLocked<T>(sessionId: string, program: LockedProgram<T>, options?: LockedOptions<T>): Promise<T>;

  abstract createTables(): Promise<void>;
  abstract append(sessionId: string, data: string[], options?: AppendOptions): Promise<boolean>;
  abstract deleteConversation(sessionId: string): Promise<boolean>;
  abstract purgeIdle(idleForMs: number, batchSize: number, tables: OptionalTables): Promise<string[]>;
  abstract writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void>;

  /** Runs one statement selecting only `message_data` and returns those texts. */
  protected async queryData(sql: string, params: unknown[]): Promise<string[]> {
    const rows = await this.query<{ message_data: string }>(sql, params);
    const out = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rows[i].message_data;
    return out;
  }

  // The reads of main's rows (lib/storage/line-reads.ts).
  readonly readAllData: MainReads['readAllData'] = (...args) => this.mainReads.readAllData(...args);
  readonly readNewestData: MainReads['readNewestData'] = (...args) => this.mainReads.readNewestData(...args);
  readonly readAll: MainReads['readAll'] = (...args) => this.mainReads.readAll(...args);
  readonly readNewest: MainReads['readNewest'] = (...args) => this.mainReads.readNewest(...args);

  /** `sql.all`'s rows as columns; a dialect overrides it with a cheaper form (arrays; SQLite: two plucked reads, and `take`). */
  protected async queryColumns(sql: ReadSql, params: unknown[], _take?: TakeColumns): Promise<StoredColumns> {
    return rowsToColumns(await this.query<StoredRow>(sql.all, params));
  }

  /** The reads of main's rows that return nothing unless main is the current branch (checked in the same statement). */
  readsWhileMainIsCurrent(): MainReads {
    return (this.whileMainReads ??= this.readsOf(
      new SessionReads(this.names, this.syntax, (id) => mainIsCurrent(this.names, id)),
    ));
  }

  private readsOf(reads: SessionReads, ownership = new OwnershipSql(this.names, this.syntax, reads)): LineReads {
    return new LineReads(reads, ownership, {
      query: (sql, params) => this.query(sql, params),
      queryData: (sql, params) => this.queryData(sql, params),
      queryColumns: (sql, params, take) => this.queryColumns(sql, params, take),
    });
  }

  async readMetadata(sessionId: string, filter?: OwnerFilter): Promise<unknown> {
    const { sql, params } = this.ownership.readMetadata(sessionId, filter);
    const rows = await this.query<{ metadata: unknown }>(sql, params);
    return rows[0]?.metadata;
  }

  async readOwnership(sessionId: string): Promise<Ownership> {
    const { sql, params } = this.ownership.readOwnership(sessionId);
    const rows = await this.query<{ owner: string | null }>(sql, params);
    if (rows.length === 0) return { exists: false };
    const owner = rows[0].owner;
    return owner === null || owner === undefined ? { exists: true } : { exists: true, owner };
  }

  listSessions(q: SessionListQuery, tables: OptionalTables): Promise<ListedSessionRow[]> {
    const { sql, params } = listingQuery(q, tables, this.names, this.syntax, this.ownership);
    return this.query<ListedSessionRow>(sql, params);
  }

  scanRows(afterId: number | string, limit: number, table: RowTable = 'messages'): Promise<ScannedRow[]> {
    const { sql, params } = scanRowsSql(this.names, this.syntax, afterId, limit, table);
    return this.query(sql, params);
  }

  swapRowText(id: number | string, expected: string, next: string, table: RowTable = 'messages'): Promise<boolean> {
    const { sql, params } = swapRowTextSql(this.names, this.syntax, id, expected, next, table);
    return this.swapRow(sql, params);
  }

  verifyTables(): Promise<void> {
    return verifyCoreTables((sql, params) => this.query(sql, params), this.names);
  }

  probeOptionalTables(): Promise<OptionalTables> {
    return probeOptionalTables((sql, params) => this.query(sql, params), this.names);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  // ---- multi-statement operations: one statement program each (program/), under the session-row lock

  applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome> {
    const inserts = plan.append.length > 0 ? this.statements.insert(sessionId, plan.append) : []; // refused here, before any I/O
    return this.runLocked(
      sessionId,
      this.protectingBranches(sessionId, () => historyProgram(this.statements, sessionId, plan, inserts)),
      {
        keep: isApplied,
        // No session row: nothing to replay or to replace (an append creates it).
        ifMissing: plan.replace && plan.replace.count > 0 ? () => ({ status: 'mismatch' }) : undefined,
      },
    );
  }

  replaceItems(sessionId: string, data: string[], keep: (rows: StoredRow[]) => string[]): Promise<ReplaceOutcome> {
    const inserts = data.length > 0 ? this.statements.insert(sessionId, data) : []; // refused here, before any I/O
    return this.runLocked(
      sessionId,
      this.protectingBranches(sessionId, () => replaceProgram(this.statements, sessionId, data, inserts, keep)),
    );
  }

  rewriteItems(
    sessionId: string,
    rewrite: (rows: StoredRow[]) => ItemRewrite | undefined,
  ): Promise<ItemRewrite | undefined> {
    return this.runLocked(
      sessionId,
      this.protectingBranches(sessionId, () => rewriteProgram(this.statements, sessionId, rewrite)),
      {
        ifMissing: () => undefined,
        keep: (change) => change !== undefined,
      },
    );
  }

  popNewest<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    options?: PopOptions,
  ): Promise<PopOutcome<T>> {
    const pop = this.protectingBranches(sessionId, () => popProgram(this.statements, sessionId, decode));
    return this.runLocked<PopOutcome<T>>(
      sessionId,
      options?.ifMainIsCurrent === true && this.branchesInUse
        ? this.branches.whileMainIsCurrent(sessionId, pop, () => ({ skipped: { count: 0 }, notOnMain: true }))
        : pop,
      {
        ifMissing: () => ({ skipped: { count: 0 } }),
        keep: (outcome) => popCommits(outcome) && !outcome.notOnMain,
      },
    );
  }

  /**
   * The rest of a delete-first pop (no row may have to be kept), given the row it already removed
   * (committed), if any: that row's value, or, when it is corrupt, the batched pop of the rows below it
   * (`pop.program.ts`) under the session-row lock, counting the removed row as skipped.
   */
  protected finishDeleteFirstPop<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    row: StoredRow | undefined,
  ): PopOutcome<T> | Promise<PopOutcome<T>> {
    if (!row) return { skipped: { count: 0 } };
    const decision = decode(row.message_data);
    if (decision !== 'skip' && decision !== 'keep') return { row, value: decision.value, skipped: { count: 0 } };
    return this.runLocked<PopOutcome<T>>(
      sessionId,
      this.protectingBranches(sessionId, () => popProgram(this.statements, sessionId, decode, [row])),
      {
        ifMissing: () => ({ skipped: { count: 1, newestId: row.id, oldestId: row.id } }),
        keep: popCommits,
      },
    );
  }

  clearItems(sessionId: string): Promise<void> {
    return this.runLocked(
      sessionId,
      this.protectingBranches(sessionId, () => clearProgram(this.statements, sessionId)),
      { ifMissing: () => undefined },
    );
  }

  claimOwner(sessionId: string, owner: string, create: boolean): Promise<string | undefined> {
    return this.runLocked(
      sessionId,
      () => claimProgram(this.ownership, sessionId, owner),
      create ? {} : { ifMissing: () => undefined },
    );
  }

  assignOwner(sessionId: string, owner: string): Promise<boolean> {
    return this.runLocked(sessionId, () => assignProgram(this.ownership, sessionId, owner), {
      ifMissing: () => false,
    });
  }

  // ---- usage (lib/storage/usage/): the usage table's statements, on this store's connection
  private usageStore?: UsageStore;

  /** The operations of the usage table `<sessions>_usage` (made on first use). */
  get usage(): UsageStore {
    return (this.usageStore ??= new UsageStore(this.tables, this.syntax, this.dialect, (sql, params) =>
      this.query(sql, params),
    ));
  }
}
