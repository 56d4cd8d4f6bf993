import { SessionMemoryConfigurationError } from '../exceptions';
import type { OptionalTables } from './session-store';
import type { TableNames } from './table-names';

/** Runs one statement and returns its rows. */
type Query = (sql: string, params: unknown[]) => Promise<unknown[]>;

/**
 * Throws `SessionMemoryConfigurationError` naming the fix when the two core tables are missing or
 * unusable (a query selecting every column the module uses, no row read).
 * @internal
 */
export async function verifyCoreTables(query: Query, names: TableNames): Promise<void> {
  const { sessions, messages } = names;
  const probes: [string, string][] = [
    [sessions, `SELECT session_id, created_at, updated_at FROM ${sessions} WHERE 1 = 0`],
    [messages, `SELECT id, session_id, message_data, created_at FROM ${messages} WHERE 1 = 0`],
  ];
  for (const [table, probe] of probes) {
    try {
      await query(probe, []);
    } catch (err) {
      throw new SessionMemoryConfigurationError(
        `cannot use table ${table} (${(err as Error).message}). ` +
          'Create the tables: set `createTables: true` in SessionMemoryModule options, or run the migration from ' +
          '`createSessionMemoryMigration()` (see README, "Production schema"), or point `tables` at existing tables.',
        { cause: err },
      );
    }
  }
}

/** Which of the optional tables exist (each probed by a query selecting the columns the module uses). @internal */
export async function probeOptionalTables(query: Query, names: TableNames): Promise<OptionalTables> {
  const exists = (sql: string) =>
    query(sql, []).then(
      () => true,
      () => false,
    );
  const { metadata, operations, owners, branches, branchSegments, branchItems } = names;
  return {
    metadata: await exists(`SELECT session_id, metadata FROM ${metadata} WHERE 1 = 0`),
    operations: await exists(`SELECT session_id, operation_id, transaction_hash FROM ${operations} WHERE 1 = 0`),
    owners: await exists(`SELECT session_id, owner FROM ${owners} WHERE 1 = 0`),
    branches:
      (await exists(`SELECT session_id, branch_id, is_current, deleted FROM ${branches} WHERE 1 = 0`)) &&
      (await exists(`SELECT session_id, branch_id, position, source_id, up_to FROM ${branchSegments} WHERE 1 = 0`)) &&
      (await exists(`SELECT id, session_id, branch_id, message_data FROM ${branchItems} WHERE 1 = 0`)),
  };
}
