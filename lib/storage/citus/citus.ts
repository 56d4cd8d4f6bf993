import { SessionMemoryConfigurationError } from '../../exceptions';
import type { SessionMemoryDistribution } from '../../interfaces';

/** Runs one statement and returns its rows (a pooled `pg` query, or a TypeORM QueryRunner's). @internal */
export type RowQuery = (sql: string) => Promise<unknown[]>;

/** Whether the database has the `citus` extension: a Citus coordinator. @internal */
export async function hasCitusExtension(query: RowQuery): Promise<boolean> {
  return (await query(`SELECT 1 AS found FROM pg_extension WHERE extname = 'citus'`)).length > 0;
}

/**
 * Whether the PostgreSQL store uses the Citus layout and statements (tables distributed by
 * `session_id`, every per-conversation statement pinned to one shard), for the `distribution` option:
 * `'auto'` when the database has the `citus` extension, `'citus'` always (the extension must be
 * there), `'none'` never (no query is made).
 * @throws SessionMemoryConfigurationError for `'citus'` without the extension.
 * @internal
 */
export async function usesCitus(distribution: SessionMemoryDistribution, query: RowQuery): Promise<boolean> {
  if (distribution === 'none') return false;
  const installed = await hasCitusExtension(query);
  if (distribution === 'citus' && !installed) {
    throw new SessionMemoryConfigurationError(
      `distribution is 'citus' but this database has no citus extension. Connect to the Citus ` +
        "coordinator (where `CREATE EXTENSION citus` was run), or set distribution: 'auto' or 'none' for plain PostgreSQL.",
    );
  }
  return installed;
}

/** Whether `table` (a quoted, qualified name) is a Citus distributed table. @internal */
export async function isDistributedTable(query: RowQuery, table: string): Promise<boolean> {
  const rows = await query(
    `SELECT 1 AS found FROM pg_dist_partition WHERE logicalrelid = to_regclass('${table.replace(/'/g, "''")}')`,
  );
  return rows.length > 0;
}

/**
 * The error `createTables` or the create migration reports when Citus refused to distribute the
 * tables, with what to do: the usual cause is tables that already exist in another layout (those of
 * Python's SQLAlchemySession, whose messages key is `id` alone).
 * @internal
 */
export function citusDistributionError(err: unknown, tables: { sessions: string; messages: string }): Error {
  const message = (err as Error).message ?? String(err);
  return new SessionMemoryConfigurationError(
    `Citus could not distribute the tables ${tables.sessions} / ${tables.messages} by session_id (${message}). ` +
      'Tables that exist already must have keys that include session_id (the messages primary key (session_id, id)): ' +
      'see docs/citus.md, "Tables created by Python\'s SQLAlchemySession". A cluster without worker nodes cannot ' +
      "hold distributed tables either: add workers (citus_add_node), or set distribution: 'none' to keep plain tables.",
    { cause: err },
  );
}
