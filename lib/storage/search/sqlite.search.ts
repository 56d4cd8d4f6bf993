import type { ParsedQuery, SearchTerm } from '../../search/search-query';
import type { ResolvedTables } from '../session-store';
import { sqliteSyntax } from '../sqlite/sqlite.syntax';
import { FullTextMatch, SearchDialect, SearchTableNames, searchTableNames } from './search-dialect';

/** One term in FTS5's query syntax: its tokens as one quoted string (a phrase), `*` after it for a prefix. */
function termText(term: SearchTerm): string {
  // Tokens are letters and digits only: no quote, no operator (AND, OR, NOT, NEAR are quoted words here).
  return `"${term.tokens.join(' ')}"${term.prefix ? '*' : ''}`;
}

/**
 * SQLite's search: FTS5 over the search table as its external content (`unicode61`, diacritics kept,
 * case folded), kept in step with it by three triggers on the search table (never on the messages
 * table). The query is one FTS5 expression, `"a" AND "b c" NOT "d"`, ranked by `bm25()` (which uses
 * statistics of the whole index: a page may shift when many rows are added between pages).
 * @internal
 */
export class SqliteSearchDialect implements SearchDialect {
  readonly syntax = sqliteSyntax;
  readonly names: SearchTableNames;
  readonly indexColumns = { names: [], values: () => [] };
  readonly upsertTail =
    'ON CONFLICT (session_id, branch_id, item_id) DO UPDATE SET role = excluded.role, body = excluded.body, ' +
    'data_length = excluded.data_length';

  constructor(tables: ResolvedTables) {
    this.names = searchTableNames(tables, sqliteSyntax);
  }

  createTables(): string[] {
    const { search, raw, quote } = this.names;
    const fts = quote(raw.fts);
    const trigger = (suffix: string, event: string, body: string) =>
      `CREATE TRIGGER IF NOT EXISTS ${quote(`${raw.search}_${suffix}`)} AFTER ${event} ON ${search} BEGIN ${body} END`;
    const remove = `INSERT INTO ${fts} (${fts}, rowid, body) VALUES ('delete', old.id, old.body);`;
    const add = `INSERT INTO ${fts} (rowid, body) VALUES (new.id, new.body);`;
    return [
      `CREATE TABLE IF NOT EXISTS ${search} (id INTEGER NOT NULL PRIMARY KEY, session_id VARCHAR NOT NULL, ` +
        `branch_id VARCHAR(64) NOT NULL, item_id INTEGER NOT NULL, role VARCHAR(16) NOT NULL, body TEXT NOT NULL, ` +
        `data_length INTEGER NOT NULL, UNIQUE (session_id, branch_id, item_id))`,
      `CREATE INDEX IF NOT EXISTS ${quote(raw.itemIndex)} ON ${search} (branch_id, item_id)`,
      `CREATE VIRTUAL TABLE IF NOT EXISTS ${fts} USING fts5(body, content='${raw.search}', content_rowid='id', ` +
        `tokenize='unicode61 remove_diacritics 0')`,
      trigger('ai', 'INSERT', add),
      trigger('ad', 'DELETE', remove),
      trigger('au', 'UPDATE', remove + ' ' + add),
    ];
  }

  dropTables(): string[] {
    const { search, raw, quote } = this.names;
    return [`DROP TABLE IF EXISTS ${quote(raw.fts)}`, `DROP TABLE IF EXISTS ${search}`];
  }

  byteLength(column: string): string {
    return `octet_length(${column})`;
  }

  idParam(placeholder: string): string {
    return `CAST(${placeholder} AS INTEGER)`;
  }

  match(query: ParsedQuery): FullTextMatch {
    const fts = this.names.quote(this.names.raw.fts);
    const positive = query.terms.filter((t) => !t.negated).map(termText);
    const negative = query.terms.filter((t) => t.negated).map(termText);
    const expression = `(${positive.join(' AND ')})${negative.map((n) => ` NOT ${n}`).join('')}`;
    return {
      score: () => `CAST(-bm25(${fts}) * 1000000 AS INTEGER)`,
      from: `${fts} JOIN ${this.names.search} s ON s.id = ${fts}.rowid`,
      where: (b) => `${fts} MATCH ${b.bind(expression)}`,
    };
  }
}
