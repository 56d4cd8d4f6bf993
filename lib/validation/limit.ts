import { InvalidLimitError } from '../exceptions';

/**
 * Checks a `getItems` limit: `undefined` (all) or an integer >= 0. Throws `InvalidLimitError` otherwise.
 * (The Python reference passes a negative limit to the database, with dialect-defined results.)
 */
export function assertLimit(limit: unknown, what = 'limit'): asserts limit is number | undefined {
  if (limit === undefined) return;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw new InvalidLimitError(
      `${what} must be a whole number >= 0 (or left out for all items), got ${describe(limit)}.`,
    );
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return v === null ? 'null' : typeof v;
}
