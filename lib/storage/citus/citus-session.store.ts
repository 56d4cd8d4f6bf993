import type { SqlStep } from '../program/statement-program';
import { PostgresConnection } from '../postgres/postgres.connection';
import { PostgresSessionStore } from '../postgres/postgres-session.store';
import { mainIsCurrent } from '../branches/branch-conditions';
import type { AppendOptions, ResolvedTables } from '../session-store';
import { citusDistributionError } from './citus';
import { citusSchemaDdl } from './citus.ddl';
import { citusSyntax } from './citus.syntax';
import { inlinePostgresParameters } from './postgres.literals';

/** Most rounds of candidates one purge call reads when others hold some of them. */
const PURGE_ROUNDS = 4;

/** PostgreSQL's `division_by_zero`: the append script's check that another branch is current. */
const DIVISION_BY_ZERO = '22012';

/**
 * Citus (a coordinator, the tables distributed by `session_id`): PostgreSQL's store with Citus's
 * constraints, all of them here and in citus.syntax.ts / citus.ddl.ts: every per-conversation
 * statement pinned to `session_id = $1` (routed to one shard), `EXCLUDED` times in upserts, appends
 * and metadata writes as a script (the session upsert, then the inserts), a purge shard by shard.
 * Why each one: docs/citus.md, "What runs where". The store reports the dialect `'postgres'`.
 * @internal
 */
export class CitusSessionStore extends PostgresSessionStore {
  private readonly citus: {
    /** The session upsert on its own, locking the row (EXCLUDED.updated_at: the column default, now). */
    upsertSession: string;
    /** The metadata upsert of `$1`, `$2`. */
    upsertMetadata: string;
    /** Deletes the metadata of `$1`. */
    deleteMetadata: string;
    /** The idle conversations, across shards, each with its shard. */
    purgeCandidates: string;
    /** Deletes the idle, unlocked ones among `$1` (all of one shard). */
    purgeShard: string;
  };

  constructor(connection: PostgresConnection, tables: ResolvedTables) {
    super(connection, tables, citusSyntax);
    const { sessions, messages, metadata } = this.names;
    const idleSince = `LOCALTIMESTAMP - ($1::float8 * interval '1 millisecond')`;
    this.citus = {
      upsertSession:
        `INSERT INTO ${sessions} (session_id) VALUES ($1) ` +
        `ON CONFLICT (session_id) DO UPDATE SET updated_at = EXCLUDED.updated_at`,
      upsertMetadata:
        `INSERT INTO ${metadata} (session_id, metadata) VALUES ($1, $2::jsonb) ` +
        `ON CONFLICT (session_id) DO UPDATE SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at`,
      deleteMetadata: `DELETE FROM ${metadata} WHERE session_id = $1`,
      // Citus refuses FOR UPDATE across shards: the candidates are read without locks (at most $2 rows
      // from each shard, by the listing index), then each shard's are locked and deleted by purgeShard.
      purgeCandidates:
        `SELECT v.session_id, get_shard_id_for_distribution_column('${sessions}', v.session_id) AS shard ` +
        `FROM (SELECT session_id FROM ${sessions} WHERE updated_at < ${idleSince} ` +
        `AND session_id <> ALL($3::varchar[]) ORDER BY updated_at LIMIT $2) v`,
      // Every table pinned to the ids of one shard, so that Citus routes it there whole. SKIP LOCKED and
      // the re-checked `updated_at`, as on one node: a conversation written meanwhile is left alone.
      purgeShard:
        `WITH victims AS (SELECT session_id FROM ${sessions} WHERE session_id = ANY($1::varchar[]) ` +
        `AND updated_at < LOCALTIMESTAMP - ($2::float8 * interval '1 millisecond') FOR UPDATE SKIP LOCKED), ` +
        `m AS (DELETE FROM ${messages} WHERE session_id = ANY($1::varchar[]) AND session_id IN (SELECT session_id FROM victims)) ` +
        `DELETE FROM ${sessions} WHERE session_id = ANY($1::varchar[]) AND session_id IN (SELECT session_id FROM victims) ` +
        `RETURNING session_id`,
    };
  }

  async createTables(): Promise<void> {
    const ddl = citusSchemaDdl(this.tables);
    try {
      await this.connection.runDdl([
        ...ddl.createCoreTables,
        ...ddl.createOptionalTables,
        ddl.createUpdatedIndex,
        ...(ddl.distributeCoreTables ?? []),
        ...(ddl.distributeOptionalTables ?? []),
      ]);
    } catch (err) {
      throw citusDistributionError(err, this.names);
    }
  }

  /**
   * Following the current branch, the script starts with a statement that fails (division by zero,
   * routed to the conversation's shard) while another branch is current: nothing of it runs then, and
   * no round trip is added.
   */
  async append(sessionId: string, data: string[], options?: AppendOptions): Promise<boolean> {
    if (data.length === 0) return true;
    if (!(options?.ifMainIsCurrent && this.branchesInUse)) {
      await this.script(sessionId, data);
      return true;
    }
    const check = {
      sql: `SELECT 1 / (CASE WHEN ${mainIsCurrent(this.names, '$1')} THEN 1 ELSE 0 END)`,
      params: [sessionId],
    };
    try {
      await this.script(sessionId, data, undefined, check);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === DIVISION_BY_ZERO) return false;
      throw err;
    }
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    const write =
      json === null
        ? { sql: this.citus.deleteMetadata, params: [sessionId], returnsRows: false }
        : { sql: this.citus.upsertMetadata, params: [sessionId, json], returnsRows: false };
    return this.script(sessionId, items, write);
  }

  /**
   * The session upsert (creating or touching the row, and locking it), the inserts of `data` and then
   * `last`, in one round trip and one transaction, each statement routed to the conversation's shard.
   * The values are inlined (the simple query protocol has no parameters).
   */
  private async script(
    sessionId: string,
    data: string[],
    last?: SqlStep,
    first?: { sql: string; params: unknown[] },
  ): Promise<void> {
    const steps = [
      ...(first ? [first] : []),
      { sql: this.citus.upsertSession, params: [sessionId] },
      ...this.statements.insert(sessionId, data),
    ];
    if (last) steps.push(last);
    await this.connection.executeScript(steps.map((s) => inlinePostgresParameters(s.sql, s.params)).join(';\n'));
  }

  /**
   * The `batchSize` longest-idle conversations across shards (each shard reads at most `batchSize`
   * rows of its listing index), then one statement per shard holding some of them, each routed to
   * that shard and atomic there (one transaction per shard, not one for the batch).
   */
  async purgeIdle(idleForMs: number, batchSize: number): Promise<string[]> {
    const deleted: string[] = [];
    // Candidates another purge holds are skipped, not waited for: read again past them (a few rounds at
    // most), so that an empty batch means, as on one node, that none is left this purger could take
    // (purgeExpired stops on an empty batch).
    const tried: string[] = [];
    for (let round = 0; round < PURGE_ROUNDS && deleted.length < batchSize; round++) {
      const candidates = await this.connection.query<{ session_id: string; shard: string | number }>(
        this.citus.purgeCandidates,
        [idleForMs, batchSize - deleted.length, tried],
      );
      if (candidates.length === 0) break;
      const byShard = new Map<string, string[]>();
      for (const { session_id, shard } of candidates) {
        tried.push(session_id);
        const ids = byShard.get(String(shard));
        if (ids) ids.push(session_id);
        else byShard.set(String(shard), [session_id]);
      }
      for (const ids of byShard.values()) {
        const rows = await this.connection.query<{ session_id: string }>(this.citus.purgeShard, [ids, idleForMs]);
        for (const row of rows) deleted.push(row.session_id);
      }
    }
    return deleted;
  }
}
