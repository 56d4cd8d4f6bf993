import type { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import { CitusSessionStore } from '../storage/citus/citus-session.store';
import type { ResolvedTables, SessionStore } from '../storage/session-store';
import { inlinePostgresParameters } from '../storage/citus/postgres.literals';
import {
  SearchBatchWriter,
  SearchDialectName,
  SearchQuery,
  createSearchStorage,
} from '../storage/search/search-storage';
import { SearchIndex } from './search-index';
import type { ResolvedSearch } from './search-options';

/**
 * The search index of a module started with the `search` option, on its DataSource: the dialect of
 * `store` (Citus told apart from PostgreSQL by its store), statements run through the DataSource
 * (one statement each, outside the store's transactions). @internal
 */
export async function createSearchIndex(
  search: ResolvedSearch,
  store: SessionStore,
  dataSource: DataSource,
  tables: ResolvedTables,
  logger: Logger,
): Promise<SearchIndex> {
  const name: SearchDialectName =
    store.dialect === 'postgres' ? (store instanceof CitusSessionStore ? 'citus' : 'postgres') : store.dialect;
  const query: SearchQuery = (sql, params = []) => dataSource.query(sql, params);
  // The writes of one index pass as one unit. Single-node PostgreSQL: one statement as it is (the usual
  // pass after appends: one upsert, which itself commits without waiting for the WAL flush, see
  // PostgresSearchDialect); several as one script (values inlined, the simple query protocol: one round
  // trip, one implicit transaction) that commits without waiting for the WAL flush: the index is derived
  // data, and an entry lost in a crash is written again by the next write of its conversation (which
  // indexes every row of it lacking an entry) or by reindex().
  // MySQL: one statement as it is (one commit), several in one transaction on a pooled connection.
  // Not on SQLite (its one connection is the store's), nor on Citus (no transaction spans conversations):
  // statement by statement there.
  const batchWriter: SearchBatchWriter | undefined =
    name === 'postgres'
      ? async (statements) => {
          if (statements.length === 1) return void (await query(statements[0].sql, statements[0].params));
          const script = statements.map((s) => inlinePostgresParameters(s.sql, s.params));
          await dataSource.query(['SET LOCAL synchronous_commit TO off', ...script].join(';\n'));
        }
      : name === 'mysql'
        ? async (statements) => {
            if (statements.length === 1) return void (await query(statements[0].sql, statements[0].params));
            await dataSource.transaction(async (manager) => {
              for (const s of statements) await manager.query(s.sql, s.params);
            });
          }
        : undefined;
  if (name === 'postgres' || name === 'citus') {
    // An unknown text search configuration would fail every index write: refuse it at startup.
    await query('SELECT to_tsvector($1::regconfig, $2)', [search.language, 'x']).catch((err: Error) => {
      throw new SessionMemoryConfigurationError(
        `search.language ${JSON.stringify(search.language)} is not a text search configuration of this database ` +
          `(${err.message}). Use 'simple', 'english', ... (SELECT cfgname FROM pg_ts_config).`,
        { cause: err },
      );
    });
  }
  return new SearchIndex(await createSearchStorage(name, query, tables, search.language, batchWriter), search, logger);
}
