/**
 * The search benchmark's data set, built by the database itself (no row goes through the module):
 * `conversations` conversations of `messages` messages each, owned round-robin by `owners` owners,
 * each message ten words drawn from a skewed vocabulary (`w0` the most frequent ... `w1999`), and the
 * search entries exactly as the module writes them (role, body, byte length; PostgreSQL's `tsvector`).
 * The full-text indexes are dropped during the load and built once at the end, as a bulk load would.
 */
export type BenchDialect = 'sqlite' | 'postgres' | 'mariadb' | 'citus';

export interface DataSetNames {
  sessions: string;
  messages: string;
  owners: string;
  search: string;
  /** SQLite: the FTS5 table; elsewhere the full-text index. */
  fts: string;
}

/** Ten words of the vocabulary in each dialect's SQL, `r` being a fresh random number in [0, 1). */
function tenWords(word: (r: string) => string, random: string, concat: (parts: string[]) => string): string {
  return concat(Array.from({ length: 10 }, () => word(random)));
}

/** The statements that load the data set (after the module created empty tables with search on). */
export function loadStatements(
  dialect: BenchDialect,
  n: DataSetNames,
  conversations: number,
  messages: number,
  owners: number,
): { before: string[]; load: string[]; after: string[] } {
  const total = conversations * messages;
  if (dialect === 'postgres' || dialect === 'citus') {
    const text = tenWords(
      (r) => `'w' || floor(2000 * ${r} ^ 3)::int`,
      'random()',
      (parts) => parts.join(` || ' ' || `),
    );
    return {
      before: [`DROP INDEX IF EXISTS "idx_${n.search.replace(/"/g, '')}_text"`],
      load: [
        `INSERT INTO ${n.sessions} (session_id) SELECT 'bench-' || g FROM generate_series(0, ${conversations - 1}) g`,
        `INSERT INTO ${n.owners} (session_id, owner) SELECT 'bench-' || g, 'owner-' || (g % ${owners}) FROM generate_series(0, ${conversations - 1}) g`,
        `INSERT INTO ${n.messages} (session_id, message_data) SELECT 'bench-' || (g / ${messages}), ` +
          `json_build_object('role', CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END, 'content', ${text})::text ` +
          `FROM generate_series(0, ${total - 1}) g ORDER BY g`,
        `INSERT INTO ${n.search} (session_id, branch_id, item_id, role, body, data_length, tsv) ` +
          `SELECT session_id, 'main', id, j->>'role', j->>'content', octet_length(message_data), to_tsvector('simple', j->>'content') ` +
          `FROM (SELECT session_id, id, message_data, message_data::jsonb AS j FROM ${n.messages}) x`,
      ],
      after: [`CREATE INDEX "idx_${n.search.replace(/"/g, '')}_text" ON ${n.search} USING GIN (tsv)`, `ANALYZE`],
    };
  }
  if (dialect === 'mariadb') {
    const text = tenWords(
      (r) => `CONCAT('w', FLOOR(2000 * POW(${r}, 3)))`,
      'RAND()',
      (parts) => `CONCAT_WS(' ', ${parts.join(', ')})`,
    );
    return {
      before: [`ALTER TABLE ${n.search} DROP INDEX ${n.fts}`],
      load: [
        `INSERT INTO ${n.sessions} (session_id) SELECT CONCAT('bench-', seq) FROM seq_0_to_${conversations - 1}`,
        `INSERT INTO ${n.owners} (session_id, owner) SELECT CONCAT('bench-', seq), CONCAT('owner-', seq % ${owners}) FROM seq_0_to_${conversations - 1}`,
        `INSERT INTO ${n.messages} (session_id, message_data) SELECT CONCAT('bench-', seq DIV ${messages}), ` +
          `JSON_OBJECT('role', IF(seq % 2 = 0, 'user', 'assistant'), 'content', ${text}) FROM seq_0_to_${total - 1}`,
        `INSERT INTO ${n.search} (session_id, branch_id, item_id, role, body, data_length) ` +
          `SELECT session_id, 'main', id, JSON_VALUE(message_data, '$.role'), JSON_VALUE(message_data, '$.content'), LENGTH(message_data) FROM ${n.messages}`,
      ],
      after: [
        `ALTER TABLE ${n.search} ADD FULLTEXT KEY ${n.fts} (body)`,
        `ANALYZE TABLE ${n.search}, ${n.messages}, ${n.owners}`,
      ],
    };
  }
  const text = tenWords(
    (r) => `'w' || CAST(2000 * ${r} * ${r} * ${r} AS INTEGER)`,
    '(abs(random()) % 1000000) / 1000000.0',
    (parts) => parts.join(` || ' ' || `),
  );
  // Per word one random number: the expression repeats `r`, so each word uses it three times; the
  // skew then is that of a single draw cubed only approximately (three draws multiplied): fine here.
  const seq = (count: number) =>
    `WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < ${count - 1})`;
  return {
    before: [`DROP TRIGGER IF EXISTS "${n.search.replace(/"/g, '')}_ai"`],
    load: [
      `${seq(conversations)} INSERT INTO ${n.sessions} (session_id) SELECT 'bench-' || i FROM g`,
      `${seq(conversations)} INSERT INTO ${n.owners} (session_id, owner) SELECT 'bench-' || i, 'owner-' || (i % ${owners}) FROM g`,
      `${seq(total)} INSERT INTO ${n.messages} (session_id, message_data) SELECT 'bench-' || (i / ${messages}), ` +
        `json_object('role', CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END, 'content', ${text}) FROM g`,
      `INSERT INTO ${n.search} (session_id, branch_id, item_id, role, body, data_length) ` +
        `SELECT session_id, 'main', id, json_extract(message_data, '$.role'), json_extract(message_data, '$.content'), octet_length(message_data) FROM ${n.messages}`,
    ],
    after: [`INSERT INTO ${n.fts} (${n.fts}) VALUES ('rebuild')`, 'ANALYZE'],
  };
}
