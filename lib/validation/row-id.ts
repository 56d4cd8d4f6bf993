/** The largest signed 64-bit integer: the highest row id any of the dialects can store (BIGINT). @internal */
export const MAX_ROW_ID = '9223372036854775807';

/**
 * Whether `value` is the decimal text of a row id, as the package hands out in cursors: digits with
 * no sign and no leading zero, from 1 to {@link MAX_ROW_ID} (`'0'` too when `allowZero`, for "from the
 * start"). Anything else would reach the database as a value it cannot compare (PostgreSQL's
 * `22003 out of range for type bigint`) or, on the other dialects, silently as a rounded number;
 * callers refuse it with their own typed error before any I/O.
 * @internal
 */
export function isRowIdText(value: unknown, options: { allowZero?: boolean } = {}): value is string {
  if (typeof value !== 'string') return false;
  if (value === '0') return options.allowZero === true;
  if (!/^[1-9][0-9]*$/.test(value)) return false;
  // Same length: decimal digits compare as numbers do.
  return value.length < MAX_ROW_ID.length || (value.length === MAX_ROW_ID.length && value <= MAX_ROW_ID);
}
