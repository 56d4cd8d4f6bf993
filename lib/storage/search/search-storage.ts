import type { ResolvedTables } from '../session-store';
import { probeMysqlIdCollation } from '../mysql/mysql-collation';
import { MysqlSearchDialect, probeMysqlFullText } from './mysql.search';
import { PostgresSearchDialect } from './postgres.search';
import type { SearchDialect } from './search-dialect';
import { SearchSql, SearchStatements } from './search-statements';
import { SqliteSearchDialect } from './sqlite.search';
import { TurnStatements } from './turn-statements';

/** Runs one statement and returns its rows (a DataSource's or a migration QueryRunner's `query`). @internal */
export type SearchQuery = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** The search SQL of one database, and how to run it. @internal */
export interface SearchStorage {
  /** Which database: PostgreSQL, Citus, MySQL / MariaDB or SQLite. */
  readonly name: SearchDialectName;
  readonly dialect: SearchDialect;
  readonly statements: SearchStatements;
  /** The turn of hits, counted when the search runs. */
  readonly turns: TurnStatements;
  readonly query: SearchQuery;
  /**
   * Runs the writes of one index pass: as one unit where the caller gave a way (`SearchBatchWriter`:
   * one commit, as few round trips as the dialect allows), else statement by statement.
   */
  writeBatch(statements: readonly SearchSql[]): Promise<void>;
  /** Creates the search tables if missing (idempotent). */
  createTables(): Promise<void>;
}

/** Runs several write statements as one unit (one transaction; one round trip where the dialect can). @internal */
export type SearchBatchWriter = (statements: readonly SearchSql[]) => Promise<void>;

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
  batchWriter?: SearchBatchWriter,
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
    name,
    dialect,
    statements: new SearchStatements(dialect),
    turns: new TurnStatements(dialect),
    query,
    async writeBatch(statements) {
      if (statements.length === 0) return;
      if (batchWriter) return batchWriter(statements);
      for (const statement of statements) await query(statement.sql, statement.params);
    },
    async createTables() {
      for (const statement of dialect.createTables()) {
        // MySQL has no CREATE INDEX IF NOT EXISTS for FULLTEXT; the table statement carries every index.
        await query(statement);
      }
    },
  };
}
