import type { ParsedQuery } from '../../search/search-query';
import type { DialectSyntax } from '../dialect-syntax';
import type { ResolvedTables } from '../session-store';
import type { SearchRowWrite, SearchSql } from './search-statements';
import { TableNames, tableNames } from '../table-names';

/** The branch of the messages table's own rows. @internal */
export const MAIN_BRANCH = 'main';

/** Binds values to placeholders in the order the SQL text names them. @internal */
export class Binder {
  readonly params: unknown[] = [];
  constructor(private readonly syntax: DialectSyntax) {}
  bind(value: unknown): string {
    this.params.push(value);
    return this.syntax.placeholder(this.params.length);
  }
}

/** The names of the search tables beside one pair of Python-compatible tables. @internal */
export interface SearchTableNames extends TableNames {
  /** `<messages>_search`: one row per indexed message row (branch `'main'`) or branch row. */
  search: string;
  /** Unquoted names (SQLite's FTS5 table and triggers, the indexes). */
  raw: { search: string; fts: string; itemIndex: string; textIndex: string };
}

/** The search names for `tables` in a dialect quoting with `syntax.quote`. @internal */
export function searchTableNames(tables: ResolvedTables, syntax: DialectSyntax): SearchTableNames {
  const names = tableNames(tables, syntax.quote);
  const base = `${tables.messages}_search`;
  return {
    ...names,
    search: names.qualify(base),
    raw: {
      search: base,
      fts: `${base}_fts`,
      itemIndex: `idx_${base}_item`,
      textIndex: `idx_${base}_text`,
    },
  };
}

/**
 * The full-text match of a parsed query in one dialect: how its search table is read (`from`, whose
 * search-table alias is `s`), the condition, and an integer score (higher is better). Each builder
 * binds its values with `b`; they are called in the order their text appears (score, from, where).
 * @internal
 */
export interface FullTextMatch {
  score(b: Binder): string;
  from: string;
  where(b: Binder): string;
}

/**
 * What one dialect adds to the shared search SQL (lib/storage/search/search-statements.ts): its DDL,
 * its full-text match, how a row's index value is written. Everything else is shared.
 * @internal
 */
export interface SearchDialect {
  readonly syntax: DialectSyntax;
  readonly names: SearchTableNames;
  /** Creates the search tables and indexes if missing (idempotent). */
  createTables(): string[];
  /** Drops them. */
  dropTables(): string[];
  /** The byte length of a text column (the fingerprint telling a changed row from its index entry). */
  byteLength(column: string): string;
  /** A bound row id, compared as a 64-bit integer. */
  idParam(placeholder: string): string;
  /** Extra columns written with each row (PostgreSQL's `tsv`), and their value built from the body's placeholder. */
  indexColumns: { names: string[]; values(body: string, b: Binder): string[] };
  /** The tail of the upsert of search rows, updating `role`, `body`, `data_length` (and index columns). */
  upsertTail: string;
  /**
   * The upsert of these rows in the dialect's own form, when it has a better one than the shared
   * multi-row `VALUES` (single-node PostgreSQL: the rows as arrays, one statement text whatever their
   * number). Rows are unique by (conversation, branch, item) within one statement.
   */
  upsertRows?(rows: readonly SearchRowWrite[]): SearchSql[];
  /** The match of a parsed query; `ownerScoped`: the search is joined to one owner's conversations. */
  match(query: ParsedQuery, ownerScoped: boolean): FullTextMatch;
}
