import { SessionMemoryConfigurationError } from '../exceptions';
import { mysqlSchemaDdl } from '../storage/mysql/mysql.ddl';
import { postgresSchemaDdl } from '../storage/postgres/postgres.ddl';
import type { SchemaDdl } from '../storage/portable.ddl';
import type { ResolvedTables, SessionStoreDialect } from '../storage/session-store';
import { sqliteSchemaDdl } from '../storage/sqlite/sqlite.ddl';

/**
 * Stand-ins for the two table names while the DDL is generated, so that every identifier the DDL
 * derives from them (`idx_<messages>_session_time`, `fk_<sessions>_metadata`, ...) can be told apart
 * and measured. Plain identifier characters: quoting leaves them as they are.
 */
const SESSIONS = 'zqSESSIONSqz';
const MESSAGES = 'zqMESSAGESqz';

/** The longest identifier of each dialect; SQLite has no limit of its own. */
const LIMITS: Record<SessionStoreDialect, { max: number; unit: 'bytes' | 'characters'; where: string } | undefined> = {
  postgres: { max: 63, unit: 'bytes', where: 'PostgreSQL' },
  mysql: { max: 64, unit: 'characters', where: 'MySQL/MariaDB' },
  sqlite: undefined,
};

/** One identifier the DDL of a dialect derives from the table names. */
interface DerivedName {
  /** With `<sessions>` / `<messages>` in place of the names, e.g. `idx_<messages>_session_time`. */
  template: string;
  /** The identifier for the configured names. */
  name: string;
  /** The table-name options it is made of. */
  options: ('sessions' | 'messages')[];
}

/** Every quoted identifier of the dialect's DDL (tables, indexes, constraints) derived from the table names. */
function derivedNames(tables: ResolvedTables, dialect: SessionStoreDialect): DerivedName[] {
  const probe: ResolvedTables = { ...tables, sessions: SESSIONS, messages: MESSAGES };
  const ddl: SchemaDdl =
    dialect === 'mysql'
      ? mysqlSchemaDdl(probe, 'utf8mb4_bin')
      : dialect === 'postgres'
        ? postgresSchemaDdl(probe)
        : sqliteSchemaDdl(probe);
  const sql = Object.values(ddl)
    .flat()
    .filter((part): part is string => typeof part === 'string')
    .join('\n');
  const quoted = dialect === 'mysql' ? /`([^`]+)`/g : /"([^"]+)"/g;
  const templates = new Set<string>();
  for (const match of sql.matchAll(quoted)) {
    if (match[1].includes(SESSIONS) || match[1].includes(MESSAGES)) templates.add(match[1]);
  }
  return [...templates].map((raw) => ({
    template: raw.replaceAll(SESSIONS, '<sessions>').replaceAll(MESSAGES, '<messages>'),
    name: raw.replaceAll(SESSIONS, tables.sessions).replaceAll(MESSAGES, tables.messages),
    options: [
      ...(raw.includes(SESSIONS) ? ['sessions' as const] : []),
      ...(raw.includes(MESSAGES) ? ['messages' as const] : []),
    ],
  }));
}

/**
 * Checks that the configured table names work on `dialect` as the package uses them, before
 * anything connects or is created:
 * - no two of the names the package derives (the tables `<sessions>`, `<messages>`, `<sessions>_metadata`,
 *   `<messages>_operations`, ..., and their indexes and constraints) are equal ignoring case: SQLite,
 *   and MySQL/MariaDB on case-insensitive file systems, would take them for one;
 * - every derived name fits the dialect's identifier limit (PostgreSQL 63 bytes, which it would
 *   otherwise truncate silently; MySQL/MariaDB 64 characters, ER_TOO_LONG_IDENT otherwise).
 * @throws SessionMemoryConfigurationError naming the derived name and how short the table name must be.
 * @internal
 */
export function assertTableNamesFit(tables: ResolvedTables, dialect: SessionStoreDialect): void {
  const names = derivedNames(tables, dialect);
  const seen = new Map<string, DerivedName>();
  for (const derived of names) {
    const key = derived.name.toLowerCase();
    const other = seen.get(key);
    if (other) throw collision(tables, other, derived);
    seen.set(key, derived);
  }
  const limit = LIMITS[dialect];
  if (!limit) return;
  const length = (name: string) => (limit.unit === 'bytes' ? Buffer.byteLength(name, 'utf8') : name.length);
  // The longest offender sets how short its table name must be.
  let worst: { derived: DerivedName; over: number } | undefined;
  for (const derived of names) {
    const over = length(derived.name) - limit.max;
    if (over > 0 && (!worst || over > worst.over)) worst = { derived, over };
  }
  if (!worst) return;
  const { derived, over } = worst;
  const options = derived.options.map((o) => `tables.${o}`).join(' and ');
  const fix =
    derived.options.length === 1
      ? `Use a ${options} of at most ${tables[derived.options[0]].length - over} characters.`
      : `Shorten ${options} by ${over} characters together.`;
  throw new SessionMemoryConfigurationError(
    `option ${options} ${derived.options.length === 1 ? `"${tables[derived.options[0]]}" is` : 'are'} too long for ${limit.where}: ` +
      `the derived name ${derived.template} ("${derived.name}") would be ${length(derived.name)} ${limit.unit}, ` +
      `over the ${limit.max}-${limit.unit === 'bytes' ? 'byte' : 'character'} limit of identifiers there. ${fix}`,
  );
}

function collision(tables: ResolvedTables, first: DerivedName, second: DerivedName): SessionMemoryConfigurationError {
  const given = `tables.sessions "${tables.sessions}" and tables.messages "${tables.messages}"`;
  const pair = [first.template, second.template].sort().join();
  if (pair === '<messages>,<sessions>') {
    return new SessionMemoryConfigurationError(
      `options ${given} are equal ignoring case: SQLite (and MySQL/MariaDB on case-insensitive file systems) would take them for one table. Give them names that differ by more than case.`,
    );
  }
  return new SessionMemoryConfigurationError(
    `options ${given} make two of the package's names one: ${first.template} and ${second.template} ` +
      `are both "${second.name}"${first.name === second.name ? '' : ' ignoring case'}. Choose table names where neither is the other plus a suffix such as _metadata, _operations or _owners.`,
  );
}
