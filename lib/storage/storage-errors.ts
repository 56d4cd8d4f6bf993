import { SessionMemoryError, SessionStorageError, SessionStorageUnavailableError } from '../exceptions';

/** Driver error codes meaning "the database cannot be reached or answered too late; retry later". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // PostgreSQL SQLSTATEs: admin/crash shutdown, cannot connect now, too many connections, statement or lock timeout
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
  '55P03',
  // MySQL / MariaDB
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_QUERY_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_STATEMENT_TIMEOUT',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED', // KILL QUERY: like PostgreSQL's query_canceled (57014), the statement was stopped, retry
  // SQLite
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_RECOVERY',
]);

/** Error names TypeORM raises instead of the driver's when a connection goes away. */
const UNAVAILABLE_NAMES = new Set([
  'QueryRunnerProviderAlreadyReleasedError',
  'ConnectionIsNotSetError',
  'CannotExecuteNotConnectedError',
  'ConnectionNotFoundError',
]);

const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /terminating connection/i,
  /pool after calling end/i,
  /pool is closed/i,
  /database connection is not open/i,
  /timeout exceeded when trying to connect/i,
  /connection is in closed state/i,
  /cannot enqueue .* after .*quit/i,
  /can't add new command when connection is in closed state/i,
  /server has gone away/i,
  /connection lost/i,
  /not connected/i,
  /statement timeout/i,
  /lock timeout/i,
  /query read timeout/i,
];

/** True when `err` says the database is unreachable, overloaded or timed out (as opposed to refusing the request). */
export function isUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown; sqlState?: unknown };
  if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return true;
  if (
    typeof e.errno === 'number' &&
    (e.errno === 1205 || e.errno === 1317 || e.errno === 1927 || e.errno === 1969 || e.errno === 3024)
  )
    return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

/**
 * Maps any error from a driver or TypeORM to the package's typed errors. The package's own errors pass
 * through unchanged; the original error is kept as `cause`.
 */
export function toSessionMemoryError(err: unknown, operation: string): SessionMemoryError {
  if (err instanceof SessionMemoryError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  if (isUnavailable(err)) {
    return new SessionStorageUnavailableError(
      `${operation} failed because the database is unavailable (${detail}). Nothing was acknowledged; retry once the database is reachable.`,
      { cause: err },
    );
  }
  return new SessionStorageError(`${operation} failed in the database: ${detail}`, { cause: err });
}
