/**
 * SQL literals for statements sent with their values inlined (the simple query protocol, which can
 * carry several statements in one round trip but no parameters). Used on Citus only, for writes that
 * must run as several statements in one transaction without paying a round trip per statement.
 */

/**
 * A PostgreSQL string literal for `text`: quotes doubled, and backslashes doubled in an `E'...'`
 * literal when there are any, so that it reads back exactly whatever `standard_conforming_strings` is.
 * @throws TypeError for a NUL character, which no PostgreSQL text can hold.
 * @internal
 */
export function quotePostgresString(text: string): string {
  if (text.includes('\0')) throw new TypeError('a PostgreSQL text cannot hold a NUL character');
  const quoted = `'${text.replace(/'/g, "''")}'`;
  return text.includes('\\') ? `E${quoted.replace(/\\/g, '\\\\')}` : quoted;
}

/**
 * The literal for one statement value: strings quoted, finite numbers and bigints as digits, `null`
 * as `NULL`, arrays as `ARRAY[...]` (`'{}'` when empty; write a cast after the placeholder).
 * @throws TypeError for anything else.
 * @internal
 */
export function postgresLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'string':
      return quotePostgresString(value);
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot inline the number ${value} into SQL`);
      return value < 0 ? `(${value})` : String(value);
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
  }
  if (Array.isArray(value)) return value.length === 0 ? `'{}'` : `ARRAY[${value.map(postgresLiteral).join(', ')}]`;
  throw new TypeError(`cannot inline a ${typeof value} into SQL`);
}

/**
 * `text` with each placeholder `$n` replaced by the literal of `values[n - 1]`. Placeholders inside
 * quoted strings or identifiers are left alone.
 * @throws TypeError for a placeholder without a value.
 * @internal
 */
export function inlinePostgresParameters(text: string, values: unknown[]): string {
  let out = '';
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1); // a doubled quote ('') is two adjacent quoted runs: same result
      i = end < 0 ? text.length : end;
    } else if (c === '$' && /[0-9]/.test(text[i + 1] ?? '')) {
      let j = i + 1;
      while (j < text.length && /[0-9]/.test(text[j])) j++;
      const n = Number(text.slice(i + 1, j));
      if (n < 1 || n > values.length) throw new TypeError(`placeholder $${n} has no value`);
      out += text.slice(at, i) + postgresLiteral(values[n - 1]);
      at = j;
      i = j - 1;
    }
  }
  return out + text.slice(at);
}
