import type { DialectSyntax } from '../dialect-syntax';
import type { ResolvedTables, SessionStoreDialect } from '../session-store';
import { usageTable } from './usage.ddl';

/** One statement and its values. @internal */
export interface UsageStatement {
  sql: string;
  params: unknown[];
}

/** One run's usage as stored: its cumulative counts and the JSON text of its token details. @internal */
export interface UsageRow {
  sessionId: string;
  branchId: string;
  runKey: string;
  turn: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** `{"input": {...}, "output": {...}}`, or null. */
  details: string | null;
  owner: string | null;
}

/**
 * How each dialect writes "insert, or replace the counts of the row with this key": the only SQL of
 * the usage table that differs between dialects. SQLite's statements come back as rows (better-sqlite3
 * runs them with `all()`), hence its `RETURNING`.
 */
const UPSERT: Record<SessionStoreDialect, { onConflict: string; newValue(column: string): string; returning: string }> =
  {
    postgres: {
      onConflict: 'ON CONFLICT (session_id, run_key) DO UPDATE SET',
      newValue: (column) => `EXCLUDED.${column}`,
      returning: '',
    },
    sqlite: {
      onConflict: 'ON CONFLICT (session_id, run_key) DO UPDATE SET',
      newValue: (column) => `excluded.${column}`,
      returning: ' RETURNING run_key',
    },
    mysql: { onConflict: 'ON DUPLICATE KEY UPDATE', newValue: (column) => `VALUES(${column})`, returning: '' },
  };

/** The columns a save of a run's usage replaces (its counts, where it stands, and when). */
const UPDATED = [
  'branch_id',
  'turn',
  'requests',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'details',
  'owner',
  'updated_at',
];

/** The sums of the counts, as the totals' column names. */
const SUMS =
  'COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(input_tokens), 0) AS input_tokens, ' +
  'COALESCE(SUM(output_tokens), 0) AS output_tokens, COALESCE(SUM(total_tokens), 0) AS total_tokens';

/**
 * The SQL of the usage table `<sessions>_usage`, built from the dialect's `DialectSyntax` (one source
 * for every dialect; the upsert's form is the one difference, `UPSERT`). Every per-conversation
 * statement pins `session_id = <first placeholder>` (Citus routes it to the conversation's shard).
 * @internal
 */
export class UsageSql {
  private readonly table: string;
  private readonly upsertSql: string;

  constructor(
    tables: ResolvedTables,
    private readonly syntax: DialectSyntax,
    dialect: SessionStoreDialect,
  ) {
    this.table = usageTable(tables, syntax.quote);
    const p = syntax.placeholder;
    const upsert = UPSERT[dialect];
    this.upsertSql =
      `INSERT INTO ${this.table} (session_id, branch_id, run_key, turn, requests, input_tokens, output_tokens, ` +
      `total_tokens, details, owner, updated_at) VALUES (${[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(p).join(', ')}, ` +
      `${syntax.now}) ${upsert.onConflict} ${UPDATED.map((c) => `${c} = ${upsert.newValue(c)}`).join(', ')}` +
      upsert.returning;
  }

  /** Records a run's cumulative usage: inserts its row, or replaces the counts of the row it has. */
  upsert(row: UsageRow): UsageStatement {
    return {
      sql: this.upsertSql,
      params: [
        row.sessionId,
        row.branchId,
        row.runKey,
        row.turn,
        row.requests,
        row.inputTokens,
        row.outputTokens,
        row.totalTokens,
        row.details,
        row.owner,
      ],
    };
  }

  /**
   * The conversation's totals (of one branch when `branchId` is given) and how many turns have usage
   * (a turn counts once however many runs it took; on every branch, each branch's turns).
   */
  sessionTotals(sessionId: string, branchId?: string): UsageStatement {
    const p = this.syntax.placeholder;
    const branch = branchId === undefined ? '' : ` AND branch_id = ${p(2)}`;
    return {
      sql:
        `SELECT ${SUMS}, COUNT(*) AS turns FROM (SELECT branch_id, turn, SUM(requests) AS requests, ` +
        `SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(total_tokens) AS total_tokens ` +
        `FROM ${this.table} WHERE session_id = ${p(1)}${branch} GROUP BY branch_id, turn) t`,
      params: branchId === undefined ? [sessionId] : [sessionId, branchId],
    };
  }

  /** The runs of one branch (of one turn when `turn` is given), by turn, oldest first. */
  turnRows(sessionId: string, branchId: string, turn?: number): UsageStatement {
    const p = this.syntax.placeholder;
    const ofTurn = turn === undefined ? '' : ` AND turn = ${p(3)}`;
    return {
      sql:
        `SELECT turn, requests, input_tokens, output_tokens, total_tokens, details FROM ${this.table} ` +
        `WHERE session_id = ${p(1)} AND branch_id = ${p(2)}${ofTurn} ORDER BY turn, created_at, run_key`,
      params: turn === undefined ? [sessionId, branchId] : [sessionId, branchId, turn],
    };
  }

  /**
   * Totals across conversations: of one owner (the `(owner, created_at)` index), recorded from `sinceMs`
   * (inclusive) until `untilMs` (exclusive), each bound optional. Without an owner, every row in the
   * window is read (the usage table only, never the items). On Citus one bounded fan-out: each shard
   * sums its rows by the index, the coordinator adds the sums.
   */
  totals(query: { owner?: string; sinceMs?: number; untilMs?: number }): UsageStatement {
    const { syntax } = this;
    const params: unknown[] = [];
    const bind = (value: unknown) => {
      params.push(value);
      return syntax.placeholder(params.length);
    };
    const where: string[] = [];
    if (query.owner !== undefined) {
      const owner = query.owner;
      where.push(syntax.ownerMatches('owner', () => bind(owner)));
    }
    if (query.sinceMs !== undefined)
      where.push(`created_at >= ${syntax.epochMsParam(bind(syntax.epochMsValue(query.sinceMs)))}`);
    if (query.untilMs !== undefined)
      where.push(`created_at < ${syntax.epochMsParam(bind(syntax.epochMsValue(query.untilMs)))}`);
    return {
      sql:
        `SELECT ${SUMS}, COUNT(DISTINCT session_id) AS conversations, COUNT(*) AS runs FROM ${this.table}` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''),
      params,
    };
  }

  /** Finds out whether the usage table exists (fails when it does not). */
  probe(): UsageStatement {
    return { sql: `SELECT session_id, run_key FROM ${this.table} WHERE 1 = 0`, params: [] };
  }
}
