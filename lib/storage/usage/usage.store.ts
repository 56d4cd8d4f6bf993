import type { ResolvedTables, SessionStoreDialect } from '../session-store';
import type { DialectSyntax } from '../dialect-syntax';
import { UsageRow, UsageSql, UsageStatement } from './usage.sql';

/** Sums as a database returns them (numbers, or decimal strings for 64-bit sums). @internal */
export interface StoredTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** One run's counts of a turn, as stored. @internal */
export interface StoredTurnRow extends StoredTotals {
  turn: number;
  details: string | null;
}

type Row = Record<string, unknown>;

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

const totalsOf = (row: Row | undefined): StoredTotals => ({
  requests: num(row?.requests),
  inputTokens: num(row?.input_tokens),
  outputTokens: num(row?.output_tokens),
  totalTokens: num(row?.total_tokens),
});

/** How long a missing usage table is believed missing before it is looked for again (the migration may run). */
const RECHECK_MISSING_MS = 60_000;

/**
 * The usage table's operations on one store's connection: each one statement of `UsageSql`, its rows
 * turned into numbers. Whether the table exists is found on first use (it is optional: tables made
 * before it have none until `createTables` or the migration adds it).
 * @internal
 */
export class UsageStore {
  private readonly sql: UsageSql;
  private present: boolean | undefined;
  private checkedAt = 0;

  constructor(
    tables: ResolvedTables,
    syntax: DialectSyntax,
    dialect: SessionStoreDialect,
    private readonly query: (sql: string, params: unknown[]) => Promise<unknown[]>,
  ) {
    this.sql = new UsageSql(tables, syntax, dialect);
  }

  private run(statement: UsageStatement): Promise<Row[]> {
    return this.query(statement.sql, statement.params) as Promise<Row[]>;
  }

  /** Whether the usage table exists (a missing one is looked for again at most once a minute). */
  async exists(): Promise<boolean> {
    if (this.present) return true;
    if (this.present === false && Date.now() - this.checkedAt < RECHECK_MISSING_MS) return false;
    this.checkedAt = Date.now();
    this.present = await this.run(this.sql.probe()).then(
      () => true,
      () => false,
    );
    return this.present;
  }

  /** Records a run's cumulative usage (idempotent: the row is keyed by conversation and run). */
  async upsert(row: UsageRow): Promise<void> {
    await this.run(this.sql.upsert(row));
  }

  /** The conversation's totals (of one branch when given) and the number of turns with usage. */
  async sessionTotals(sessionId: string, branchId?: string): Promise<StoredTotals & { turns: number }> {
    const [row] = await this.run(this.sql.sessionTotals(sessionId, branchId));
    return { ...totalsOf(row), turns: num(row?.turns) };
  }

  /** The runs of one branch (of one turn when given), by turn. */
  async turnRows(sessionId: string, branchId: string, turn?: number): Promise<StoredTurnRow[]> {
    const rows = await this.run(this.sql.turnRows(sessionId, branchId, turn));
    return rows.map((row) => ({
      ...totalsOf(row),
      turn: num(row.turn),
      details: typeof row.details === 'string' ? row.details : null,
    }));
  }

  /** Totals across conversations (see `UsageSql.totals`). */
  async totals(query: {
    owner?: string;
    sinceMs?: number;
    untilMs?: number;
  }): Promise<StoredTotals & { conversations: number; runs: number }> {
    const [row] = await this.run(this.sql.totals(query));
    return { ...totalsOf(row), conversations: num(row?.conversations), runs: num(row?.runs) };
  }
}
