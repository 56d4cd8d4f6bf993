import { mkdirSync } from 'fs';
import { dirname, resolve } from 'path';
import type { DataSourceOptions } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import { DEFAULT_TIMEOUTS, ResolvedTimeouts, clientQueryTimeoutMs } from '../options/resolved-options';

/** The URL used when neither `url` nor `dataSource` is given: an SQLite file in the working directory. */
export const DEFAULT_SESSION_MEMORY_URL = 'sqlite:session-memory.db';

/** Hides the password of a URL, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z0-9+]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/**
 * Turns a session-memory URL into the options of the TypeORM DataSource the module builds and owns.
 * `extra` (the `dataSourceOptions` option) wins over the defaults; its `extra` (driver pool options)
 * is merged into ours rather than replacing them. Throws `SessionMemoryConfigurationError` for a URL
 * it does not understand.
 */
export function dataSourceOptionsFromUrl(
  url: string,
  extra: Record<string, unknown> = {},
  timeouts: ResolvedTimeouts = DEFAULT_TIMEOUTS,
): DataSourceOptions {
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase();
  const userPool = (extra.extra ?? {}) as Record<string, unknown>;
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return {
        type: 'postgres',
        url,
        ...extra,
        extra: {
          // Fail fast instead of waiting forever: to connect, and for a free pooled connection.
          ...(timeouts.connectMs > 0 ? { connectionTimeoutMillis: timeouts.connectMs } : {}),
          // Sent at connection start-up, so they bound every statement on the module's connections.
          ...(timeouts.statementMs > 0 ? { statement_timeout: timeouts.statementMs } : {}),
          ...(timeouts.lockMs > 0 ? { lock_timeout: timeouts.lockMs } : {}),
          // And on the client side, for when the server cannot even answer (a network partition, a
          // frozen host): the pool then discards the connection.
          ...(timeouts.statementMs > 0 ? { query_timeout: clientQueryTimeoutMs(timeouts) } : {}),
          ...userPool,
        },
      } as DataSourceOptions;
    case 'mysql':
    case 'mariadb':
      return {
        type: scheme,
        url: url.replace(/^mariadb:/i, 'mysql:'),
        // utf8mb4 on the wire, or emoji and other astral characters cannot be written
        charset: 'utf8mb4_unicode_ci',
        ...(timeouts.connectMs > 0 ? { connectTimeout: timeouts.connectMs } : {}),
        ...extra,
      } as DataSourceOptions;
    case 'sqlite': {
      const database = sqlitePath(url);
      if (database !== ':memory:') mkdirSync(dirname(resolve(database)), { recursive: true });
      return {
        type: 'better-sqlite3',
        database,
        enableWAL: database !== ':memory:',
        // The busy timeout: how long a writer waits for another process's write lock.
        timeout: timeouts.lockMs,
        ...extra,
      } as DataSourceOptions;
    }
    default:
      throw new SessionMemoryConfigurationError(
        `cannot use url ${JSON.stringify(redactUrl(url))}. Use postgres://user:pass@host:5432/db, ` +
          'mysql://user:pass@host:3306/db (or mariadb://), sqlite:path/to/file.db or sqlite::memory:.',
      );
  }
}

function sqlitePath(url: string): string {
  let rest = url.slice('sqlite:'.length);
  if (rest.startsWith('///'))
    rest = rest.slice(3); // SQLAlchemy style: sqlite:///relative.db, sqlite:////abs.db
  else if (rest.startsWith('//')) rest = rest.slice(2);
  if (rest === ':memory:' || rest === '') {
    if (rest === '') {
      throw new SessionMemoryConfigurationError(
        `the sqlite: url has no path. Use sqlite:path/to/file.db or sqlite::memory:.`,
      );
    }
    return ':memory:';
  }
  return rest;
}

/** The name of the TypeORM DataSource a module instance builds from its `url`. @internal */
export function sessionMemoryDataSourceName(instanceName: string): string {
  return `nestjs-session-memory:${instanceName}`;
}
