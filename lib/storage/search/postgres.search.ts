import type { ParsedQuery, SearchTerm } from '../../search/search-query';
import { distributeBySessionId } from '../citus/citus.ddl';
import { citusSyntax } from '../citus/citus.syntax';
import type { DialectSyntax } from '../dialect-syntax';
import { postgresSyntax } from '../postgres/postgres.syntax';
import type { ResolvedTables } from '../session-store';
import { Binder, FullTextMatch, SearchDialect, SearchTableNames, searchTableNames } from './search-dialect';
import type { SearchRowWrite, SearchSql } from './search-statements';

/** Most rows per upsert statement (arrays: one statement text whatever the number). */
const ARRAY_UPSERT_ROWS = 2000;

/**
 * One term as a `tsquery`: a word or phrase through `websearch_to_tsquery` as a quoted phrase (its
 * tokens are letters and digits only, so nothing in it is an operator), a prefix through `to_tsquery`
 * as `a <-> b:*` (same tokens, so always valid syntax).
 */
function termQuery(term: SearchTerm, config: string, b: Binder): string {
  if (term.prefix) {
    const text = term.tokens.map((t, i) => (i === term.tokens.length - 1 ? `${t}:*` : t)).join(' <-> ');
    return `to_tsquery(${config}, ${b.bind(text)})`;
  }
  return `websearch_to_tsquery(${config}, ${b.bind(`"${term.tokens.join(' ')}"`)})`;
}

/**
 * PostgreSQL's search (Citus: `citus: true`): a `tsvector` column computed with the `language`
 * configuration when the row is written, a GIN index on it, queries as `tsquery`s combined with `&&`
 * and `!!`, ranked by `ts_rank` (which depends on the row alone: pages stay stable while rows are
 * added). On Citus the search table is distributed by `session_id`, colocated with the sessions
 * table: a conversation's entries live on its shard, and an owner-wide search is one fan-out to
 * every shard, each returning at most its best page (docs/search.md).
 * @internal
 */
export class PostgresSearchDialect implements SearchDialect {
  readonly syntax: DialectSyntax;
  readonly names: SearchTableNames;
  readonly indexColumns: SearchDialect['indexColumns'];
  readonly upsertTail =
    'ON CONFLICT (session_id, branch_id, item_id) DO UPDATE SET role = EXCLUDED.role, body = EXCLUDED.body, ' +
    'data_length = EXCLUDED.data_length, tsv = EXCLUDED.tsv';
  /** Single-node PostgreSQL only (see `arrayUpsert`); Citus keeps the shared multi-row `VALUES`. */
  readonly upsertRows?: (rows: readonly SearchRowWrite[]) => SearchSql[];

  constructor(
    tables: ResolvedTables,
    private readonly language: string,
    private readonly citus = false,
  ) {
    this.syntax = citus ? citusSyntax : postgresSyntax;
    this.names = searchTableNames(tables, this.syntax);
    this.indexColumns = {
      names: ['tsv'],
      values: (body: string, b: Binder) => [`to_tsvector(${b.bind(this.language)}::regconfig, ${body})`],
    };
    if (!citus) {
      const sql =
        `WITH sync AS (SELECT set_config('synchronous_commit', 'off', true) AS off) ` +
        `INSERT INTO ${this.names.search} (session_id, branch_id, item_id, role, body, data_length, tsv) ` +
        `SELECT r.session_id, r.branch_id, r.item_id, r.role, r.body, r.data_length, to_tsvector($7::regconfig, r.body) ` +
        `FROM sync CROSS JOIN unnest($1::varchar[], $2::varchar[], $3::bigint[], $4::varchar[], $5::text[], $6::bigint[]) ` +
        `AS r(session_id, branch_id, item_id, role, body, data_length) ${this.upsertTail}`;
      this.upsertRows = (rows) => this.arrayUpsert(sql, rows);
    }
  }

  /**
   * Single-node PostgreSQL: the rows as one array per column (`unnest`) in `sql`, built once in the
   * constructor: the statement text is the same whatever the number of rows (parsed and planned in a
   * fraction of the time of a multi-row `VALUES` with a `to_tsvector` call per row). It commits without waiting for the WAL flush
   * (`set_config(..., true)`: for its own transaction only), as the index passes' scripts do: the
   * index is derived data, and an entry lost in a crash is written again by the next write of its
   * conversation or by `reindex()`. (Not on Citus: an `INSERT ... SELECT` from arrays is not routed
   * to one shard; Citus keeps the shared `VALUES` form.)
   */
  private arrayUpsert(sql: string, rows: readonly SearchRowWrite[]): SearchSql[] {
    const out: SearchSql[] = [];
    for (let at = 0; at < rows.length; at += ARRAY_UPSERT_ROWS) {
      const part = rows.slice(at, at + ARRAY_UPSERT_ROWS);
      const column = <T>(pick: (r: SearchRowWrite) => T) => part.map(pick);
      const params = [
        column((r) => r.sessionId),
        column((r) => r.branchId),
        column((r) => r.itemId),
        column((r) => r.role),
        column((r) => r.body),
        column((r) => r.dataLength),
        this.language,
      ];
      out.push({ sql, params });
    }
    return out;
  }

  createTables(): string[] {
    const { search, sessions, raw, quote } = this.names;
    return [
      `CREATE TABLE IF NOT EXISTS ${search} (session_id VARCHAR NOT NULL, branch_id VARCHAR(64) NOT NULL, ` +
        `item_id BIGINT NOT NULL, role VARCHAR(16) NOT NULL, body TEXT NOT NULL, data_length BIGINT NOT NULL, ` +
        `tsv TSVECTOR NOT NULL, PRIMARY KEY (session_id, branch_id, item_id))`,
      ...(this.citus ? [distributeBySessionId(search, sessions)] : []),
      `CREATE INDEX IF NOT EXISTS ${quote(raw.textIndex)} ON ${search} USING GIN (tsv)`,
      `CREATE INDEX IF NOT EXISTS ${quote(raw.itemIndex)} ON ${search} (branch_id, item_id)`,
    ];
  }

  dropTables(): string[] {
    return [`DROP TABLE IF EXISTS ${this.names.search}`];
  }

  byteLength(column: string): string {
    return `octet_length(${column})`;
  }

  idParam(placeholder: string): string {
    return `${placeholder}::bigint`;
  }

  match(query: ParsedQuery): FullTextMatch {
    let tsquery: string | undefined;
    // Built once, at its first use (the score, which comes first in the text); the condition names the
    // same numbered placeholders again.
    const build = (b: Binder) => {
      if (tsquery) return tsquery;
      const config = `${b.bind(this.language)}::regconfig`;
      const positive = query.terms.filter((t) => !t.negated).map((t) => termQuery(t, config, b));
      const negative = query.terms.filter((t) => t.negated).map((t) => `!!${termQuery(t, config, b)}`);
      tsquery = `(${[...positive, ...negative].join(' && ')})`;
      return tsquery;
    };
    return {
      score: (b) => `(ts_rank(s.tsv, ${build(b)}) * 1000000)::bigint`,
      from: `${this.names.search} s`,
      where: (b) => `s.tsv @@ ${build(b)}`,
    };
  }
}
