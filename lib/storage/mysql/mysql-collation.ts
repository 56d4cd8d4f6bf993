/** Lists which binary NO PAD utf8mb4 collations the server has. */
const ID_COLLATION_PROBE =
  "SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')";
/** The collation of `session_id` in an existing sessions table (parameter: the table name). */
const ID_COLUMN_COLLATION =
  "SELECT COLLATION_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'session_id'";

/**
 * The collation of `session_id` in tables we create, from what the server has: binary (case-,
 * accent-sensitive) and NO PAD (trailing spaces count) where the server has one — `utf8mb4_nopad_bin`
 * on MariaDB ≥ 10.2, `utf8mb4_0900_bin` on MySQL ≥ 8.0. MySQL 5.7 has neither: there it is
 * `utf8mb4_bin`, binary but PAD SPACE (`'a'` and `'a '` are the same key).
 * @internal
 */
export function chooseMysqlIdCollation(available: readonly string[]): string {
  if (available.includes('utf8mb4_nopad_bin')) return 'utf8mb4_nopad_bin';
  if (available.includes('utf8mb4_0900_bin')) return 'utf8mb4_0900_bin';
  return 'utf8mb4_bin';
}

/**
 * The `session_id` collation for the tables of `sessionsTable`: the existing sessions table's own
 * (a table Python or a DBA made may use `utf8mb4_bin`, and foreign keys need the same collation on
 * both sides), else the best the server has (`chooseMysqlIdCollation`). `query` runs one statement:
 * the store's connection or a migration's QueryRunner.
 * @internal
 */
export async function probeMysqlIdCollation(
  query: (sql: string, values: unknown[]) => Promise<{ name?: unknown }[]>,
  sessionsTable: string,
): Promise<string> {
  const [existing] = await query(ID_COLUMN_COLLATION, [sessionsTable]);
  if (existing?.name) return String(existing.name);
  return chooseMysqlIdCollation((await query(ID_COLLATION_PROBE, [])).map((r) => String(r.name)));
}
