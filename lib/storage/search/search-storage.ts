import type { ResolvedTables } from '../session-store';
import { probeMysqlIdCollation } from '../mysql/mysql.connection';
import { MysqlSearchDialect, probeMysqlFullText } from './mysql.search';
import { PostgresSearchDialect } from './postgres.search';
import type { SearchDialect } from './search-dialect';
import { SearchStatements } from './search-statements';
import { SqliteSearchDialect } from './sqlite.search';
import { TurnStatements } from './turn-statements';

/** Runs one statement and returns its rows (a DataSource's or a migration QueryRunner's `query`). @internal */
export type SearchQuery = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** The search SQL of one database, and how to run it. @internal */
export interface SearchStorage {
  readonly dialect: SearchDialect;
  readonly statements: SearchStatements;
  /** The turn of hits, counted when the search runs. */
  readonly turns: TurnStatements;
  readonly query: SearchQuery;
  /**
   * Runs one pass of index writes: in one transaction where the caller gave a way to open one (then
   * one commit per pass), else statement by statement.
   */
  inPass(work: (query: SearchQuery) => Promise<void>): Promise<void>;
  /** Creates the search tables if missing (idempotent). */
  createTables(): Promise<void>;
}

/** Which search dialect: PostgreSQL's family is told apart by whether the store is Citus's. @internal */
export type SearchDialectName = 'postgres' | 'citus' | 'mysql' | 'sqlite';

/**
 * The search storage for `tables` on the database `query` reaches (MySQL: the `session_id` collation
 * of the existing sessions table, and the server's full-text limits, are probed first).
 * @internal
 */
export async function createSearchStorage(
  name: SearchDialectName,
  query: SearchQuery,
  tables: ResolvedTables,
  language: string,
  transaction?: (work: (query: SearchQuery) => Promise<void>) => Promise<void>,
): Promise<SearchStorage> {
  let dialect: SearchDialect;
  if (name === 'mysql') {
    const collation = await probeMysqlIdCollation((sql, values) => query(sql, values), tables.sessions);
    dialect = new MysqlSearchDialect(tables, collation, await probeMysqlFullText((sql) => query(sql)));
  } else if (name === 'sqlite') {
    dialect = new SqliteSearchDialect(tables);
  } else {
    dialect = new PostgresSearchDialect(tables, language, name === 'citus');
  }
  return {
    dialect,
    statements: new SearchStatements(dialect),
    turns: new TurnStatements(dialect),
    query,
    inPass: (work) => (transaction ? transaction(work) : work(query)),
    async createTables() {
      for (const statement of dialect.createTables()) {
        // MySQL has no CREATE INDEX IF NOT EXISTS for FULLTEXT; the table statement carries every index.
        await query(statement);
      }
    },
  };
}
