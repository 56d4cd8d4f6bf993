import { createHash } from 'crypto';
import { InvalidHistoryTransactionError, InvalidSessionItemsError } from '../exceptions';
import type { HistoryPlan, StoredRow } from '../storage/session-store';
import { ItemLimits, encodeItems } from '../validation';

/** Longest accepted operation id, in characters (the operation log's key column is `VARCHAR(255)`). */
export const MAX_OPERATION_ID_LENGTH = 255;

/** What `applyHistoryTransaction` did. */
export type HistoryTransactionResult = 'applied' | 'replayed';

/**
 * JSON text with object keys sorted at every level: two transactions that compare equal structurally
 * (the Agents SDK's notion of "the same transaction") have the same canonical text.
 * @internal
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(value))));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function encode(items: unknown, field: string, limits: ItemLimits): string[] {
  if (!Array.isArray(items)) {
    throw new InvalidHistoryTransactionError(
      `transaction.${field} must be an array of items, got ${items === null ? 'null' : typeof items}.`,
    );
  }
  try {
    return encodeItems(items, limits);
  } catch (err) {
    if (err instanceof InvalidSessionItemsError) {
      throw new InvalidHistoryTransactionError(`transaction.${field}: ${err.message.replace(/^items\[/, `${field}[`)}`);
    }
    throw err;
  }
}

/**
 * Checks the arguments of `applyHistoryTransaction` and turns them into what the store runs: the
 * encoded items, the transaction's SHA-256 over its canonical JSON, and the suffix check.
 * @throws InvalidHistoryTransactionError before anything is read or written.
 * @internal
 */
export function planHistoryTransaction(args: unknown, limits: ItemLimits): HistoryPlan {
  if (args === null || typeof args !== 'object') {
    throw new InvalidHistoryTransactionError('applyHistoryTransaction expects { operationId, transaction }.');
  }
  const { operationId, transaction } = args as { operationId?: unknown; transaction?: unknown };
  if (typeof operationId !== 'string' || operationId.trim().length === 0) {
    throw new InvalidHistoryTransactionError(
      'operationId must be a non-empty string that stays the same when the transaction is retried.',
    );
  }
  if (operationId.length > MAX_OPERATION_ID_LENGTH || operationId.includes('\u0000')) {
    throw new InvalidHistoryTransactionError(
      `operationId must be at most ${MAX_OPERATION_ID_LENGTH} characters without NUL; got ${operationId.length} characters. Hash longer ids.`,
    );
  }
  if (transaction === null || typeof transaction !== 'object') {
    throw new InvalidHistoryTransactionError(
      'transaction must be an object: { type: "append_items", items } or { type: "replace_suffix", expectedSuffix, replacement }.',
    );
  }
  const t = transaction as { type?: unknown; items?: unknown; expectedSuffix?: unknown; replacement?: unknown };
  let append: string[];
  let replace: HistoryPlan['replace'];
  if (t.type === 'append_items') {
    append = encode(t.items, 'items', limits);
  } else if (t.type === 'replace_suffix') {
    const expected = encode(t.expectedSuffix, 'expectedSuffix', limits);
    append = encode(t.replacement, 'replacement', limits);
    const expectedCanonical = expected.map((json) => canonicalJson(JSON.parse(json)));
    replace = {
      count: expected.length,
      matches: (newestFirst: StoredRow[]) =>
        newestFirst.every((row, i) => {
          const want = expectedCanonical[expectedCanonical.length - 1 - i];
          try {
            return canonicalJson(JSON.parse(row.message_data)) === want;
          } catch {
            return false; // a corrupt stored row never matches
          }
        }),
    };
  } else {
    throw new InvalidHistoryTransactionError(
      `transaction.type ${JSON.stringify(t.type)} is not supported: use "append_items" or "replace_suffix".`,
    );
  }
  const hash = createHash('sha256').update(canonicalJson(transaction)).digest('hex');
  return { operationId, hash, append, replace };
}
