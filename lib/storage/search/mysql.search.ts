import type { ParsedQuery, SearchTerm } from '../../search/search-query';
import { quoteMysql } from '../mysql/mysql.connection';
import { mysqlSyntax } from '../mysql/mysql.syntax';
import type { ResolvedTables } from '../session-store';
import { Binder, FullTextMatch, SearchDialect, SearchTableNames, searchTableNames } from './search-dialect';

/** What the server's InnoDB full-text parser leaves out (probed at start, see `probeMysqlFullText`). @internal */
export interface MysqlFullTextLimits {
  minToken: number;
  maxToken: number;
  stopwords: ReadonlySet<string>;
}

/** `statementMs`-free statements: the `max_allowed_packet` of mysqlSyntax only bounds its inserts, unused here. */
const PACKET = 64 * 1024 * 1024;
const WORD = '[\\p{L}\\p{N}]';

/** A term as a regular expression on the body (PCRE): its tokens as whole words, in order. */
function termPattern(term: SearchTerm): string {
  const words = term.tokens.join(`[^\\p{L}\\p{N}]+`);
  return `(?<!${WORD})${words}${term.prefix ? '' : `(?!${WORD})`}`;
}

/**
 * MySQL / MariaDB's search: an InnoDB `FULLTEXT` index on the body, queried in boolean mode with
 * every term quoted (`+"a" +"b c" -"d" +e*`), ranked by the relevance InnoDB gives (statistics of
 * the whole index). InnoDB does not index words shorter than `innodb_ft_min_token_size` (3 by
 * default) nor its stop words: a term holding one is matched by a regular expression on the body
 * instead (within the other terms' matches, or a scan of the search table when no term can use the
 * index), so that every dialect finds the same rows for the same words. An owner-scoped search matches
 * the owner's entries by regular expression only (docs/search.md, "Short words and stop words").
 * @internal
 */
export class MysqlSearchDialect implements SearchDialect {
  readonly syntax = mysqlSyntax(PACKET);
  readonly names: SearchTableNames;
  readonly indexColumns = { names: [], values: () => [] };
  readonly upsertTail =
    'ON DUPLICATE KEY UPDATE role = VALUES(role), body = VALUES(body), data_length = VALUES(data_length)';

  constructor(
    tables: ResolvedTables,
    private readonly idCollation: string,
    private readonly limits: MysqlFullTextLimits,
  ) {
    this.names = searchTableNames(tables, this.syntax);
  }

  createTables(): string[] {
    const { search, raw } = this.names;
    return [
      `CREATE TABLE IF NOT EXISTS ${search} (` +
        `session_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${this.idCollation} NOT NULL, ` +
        `branch_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, item_id BIGINT NOT NULL, ` +
        `role VARCHAR(16) CHARACTER SET ascii NOT NULL, ` +
        `body LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL, data_length BIGINT NOT NULL, ` +
        `PRIMARY KEY (session_id, branch_id, item_id), KEY ${quoteMysql(raw.itemIndex)} (branch_id, item_id), ` +
        `FULLTEXT KEY ${quoteMysql(raw.textIndex)} (body)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ];
  }

  dropTables(): string[] {
    return [`DROP TABLE IF EXISTS ${this.names.search}`];
  }

  byteLength(column: string): string {
    return `LENGTH(${column})`;
  }

  idParam(placeholder: string): string {
    return `CAST(${placeholder} AS SIGNED)`;
  }

  /** Whether InnoDB indexes every token of the term (else it is matched by a regular expression). */
  private indexable(term: SearchTerm): boolean {
    const { minToken, maxToken, stopwords } = this.limits;
    if (term.prefix && term.tokens.length > 1) return false; // boolean mode has no phrase prefix
    return term.tokens.every((t) => t.length >= minToken && t.length <= maxToken && !stopwords.has(t));
  }

  match(query: ParsedQuery, ownerScoped: boolean): FullTextMatch {
    let indexed = query.terms.filter((t) => this.indexable(t));
    // InnoDB cannot combine its full-text index with another condition: with an owner it would look up
    // every match of the whole table, then keep the owner's. The owner's own entries are fewer: match
    // them by regular expression (newest first: there is no relevance without the index).
    const usesIndex = !ownerScoped && indexed.some((t) => !t.negated);
    if (!usesIndex) indexed = [];
    const other = query.terms.filter((t) => !indexed.includes(t));
    // Tokens are letters and digits only: quoted, nothing in them is an operator of boolean mode.
    const against = indexed
      .map((t) => `${t.negated ? '-' : '+'}${t.prefix ? `${t.tokens[0]}*` : `"${t.tokens.join(' ')}"`}`)
      .join(' ');
    const matchSql = (b: Binder) => `MATCH (s.body) AGAINST (${b.bind(against)} IN BOOLEAN MODE)`;
    return {
      score: (b) => (usesIndex ? `ROUND(${matchSql(b)} * 1000000)` : '0'),
      from: `${this.names.search} s`,
      where: (b) => {
        const conditions = usesIndex ? [matchSql(b)] : [];
        for (const t of other) conditions.push(`s.body ${t.negated ? 'NOT ' : ''}REGEXP ${b.bind(termPattern(t))}`);
        return `(${conditions.join(' AND ')})`;
      },
    };
  }
}

/** The server's full-text limits, for `MysqlSearchDialect`. `query` runs one statement. @internal */
export async function probeMysqlFullText(
  query: (sql: string) => Promise<Record<string, unknown>[]>,
): Promise<MysqlFullTextLimits> {
  const [sizes] = await query(
    'SELECT @@innodb_ft_min_token_size AS min_token, @@innodb_ft_max_token_size AS max_token',
  );
  const words = await query('SELECT value FROM information_schema.INNODB_FT_DEFAULT_STOPWORD').catch(() => []);
  return {
    minToken: Number(sizes?.min_token ?? 3),
    maxToken: Number(sizes?.max_token ?? 84),
    stopwords: new Set(words.map((w) => String(w.value).toLowerCase())),
  };
}
