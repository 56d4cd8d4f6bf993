import { withoutPrefix } from '../exceptions/message-prefix';
import { PLAIN_OPERATION_DIGEST, TransactionDigest } from '../encryption/operation-digest';
import { InvalidHistoryTransactionError, InvalidSessionItemsError } from '../exceptions';
import type { PlainHistoryPlan, PlainRow } from '../encryption/sealing-store';
import { ItemLimits, encodeItems } from '../validation';
import { SnapshotRefusal, isModelItem, strictSnapshot } from './strict-snapshot';

/** Longest accepted operation id, in characters (the operation log's key column is `VARCHAR(255)`). */
export const MAX_OPERATION_ID_LENGTH = 255;

/** The fields of each transaction type, sorted. */
const TRANSACTION_FIELDS: Record<string, string[]> = {
  append_items: ['items', 'type'],
  replace_suffix: ['expectedSuffix', 'replacement', 'type'],
};

/**
 * JSON text with object keys sorted at every level: two transactions that compare equal structurally
 * (the Agents SDK's notion of "the same transaction") have the same canonical text, and two that
 * differ anywhere, an own `__proto__` key included, have different texts.
 * @internal
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(value))));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      // defineProperty, not `out[key] =`: a key named __proto__ stays an own (hashed) property
      // instead of setting the copy's prototype and vanishing from the text.
      Object.defineProperty(out, key, {
        value: sortKeys((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** Throws `InvalidHistoryTransactionError` unless `id` is an operation id every dialect keys exactly. */
function assertOperationId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.trim().length === 0) {
    throw new InvalidHistoryTransactionError(
      'operationId must be a non-empty string that stays the same when the transaction is retried.',
    );
  }
  if (id.length > MAX_OPERATION_ID_LENGTH) {
    throw new InvalidHistoryTransactionError(
      `operationId is ${id.length} characters long; at most ${MAX_OPERATION_ID_LENGTH} are allowed. Hash longer ids.`,
    );
  }
  if (id.includes('\u0000')) {
    throw new InvalidHistoryTransactionError(
      'operationId contains a NUL character (U+0000), which databases cannot store. Remove it.',
    );
  }
  if (!id.isWellFormed()) {
    // PostgreSQL and MySQL/MariaDB would store each lone surrogate as U+FFFD: distinct ids would collapse.
    throw new InvalidHistoryTransactionError(
      'operationId contains a lone UTF-16 surrogate, which cannot be stored exactly as UTF-8. Pass a well-formed string (or hash the id).',
    );
  }
}

function encode(items: unknown, field: string, limits: ItemLimits): string[] {
  if (!Array.isArray(items)) {
    throw new InvalidHistoryTransactionError(
      `transaction.${field} must be an array of items, got ${items === null ? 'null' : typeof items}.`,
    );
  }
  items.forEach((item, i) => {
    if (!isModelItem(item)) {
      throw new InvalidHistoryTransactionError(
        `transaction.${field}[${i}] is not an Agents SDK model item (a message, function_call, function_call_result, ...).`,
      );
    }
  });
  try {
    return encodeItems(items, limits);
  } catch (err) {
    if (err instanceof InvalidSessionItemsError) {
      throw new InvalidHistoryTransactionError(
        `transaction.${field}: ${withoutPrefix(err.message).replace(/^items\[/, `${field}[`)}`,
      );
    }
    throw err;
  }
}

/**
 * Checks the arguments of `applyHistoryTransaction` and turns them into what the store runs: the
 * encoded items, the transaction's digest over its canonical JSON (`digest`: plain SHA-256 by
 * default, keyed under encryption: lib/encryption/operation-digest.ts), and the suffix check.
 * @throws InvalidHistoryTransactionError before anything is read or written.
 * @internal
 */
export function planHistoryTransaction(
  args: unknown,
  limits: ItemLimits,
  digest: (canonical: string) => TransactionDigest = (canonical) => PLAIN_OPERATION_DIGEST.of('', canonical),
): PlainHistoryPlan {
  if (args === null || typeof args !== 'object') {
    throw new InvalidHistoryTransactionError('applyHistoryTransaction expects { operationId, transaction }.');
  }
  let operationId: unknown;
  let given: unknown;
  try {
    operationId = Reflect.get(args, 'operationId');
    given = Reflect.get(args, 'transaction');
  } catch {
    throw new InvalidHistoryTransactionError('applyHistoryTransaction could not read { operationId, transaction }.');
  }
  assertOperationId(operationId);
  if (given === null || typeof given !== 'object') {
    throw new InvalidHistoryTransactionError(
      'transaction must be an object: { type: "append_items", items } or { type: "replace_suffix", expectedSuffix, replacement }.',
    );
  }
  // A plain, own-property copy, read once: what is validated, stored and hashed is the same value.
  let transaction: Record<string, unknown>;
  try {
    transaction = strictSnapshot(given, 'transaction') as Record<string, unknown>;
  } catch (err) {
    if (err instanceof SnapshotRefusal) throw new InvalidHistoryTransactionError(`${err.message}`);
    throw err;
  }
  const t = transaction as { type?: unknown; items?: unknown; expectedSuffix?: unknown; replacement?: unknown };
  const fields =
    typeof t.type === 'string' && Object.hasOwn(TRANSACTION_FIELDS, t.type) ? TRANSACTION_FIELDS[t.type] : undefined;
  if (fields) {
    const keys = Object.keys(transaction).sort();
    if (keys.join() !== fields.join()) {
      throw new InvalidHistoryTransactionError(
        `a ${String(t.type)} transaction has exactly the fields ${fields.join(', ')}; got ${keys.join(', ')}.`,
      );
    }
  }
  let append: string[];
  let replace: PlainHistoryPlan['replace'];
  if (t.type === 'append_items') {
    append = encode(t.items, 'items', limits);
  } else if (t.type === 'replace_suffix') {
    const expected = encode(t.expectedSuffix, 'expectedSuffix', limits);
    append = encode(t.replacement, 'replacement', limits);
    const expectedCanonical = expected.map((json) => canonicalJson(JSON.parse(json)));
    replace = {
      count: expected.length,
      matches: (newestFirst: readonly PlainRow[]) =>
        newestFirst.every((row, i) => {
          const want = expectedCanonical[expectedCanonical.length - 1 - i];
          if (row.message_data === undefined) return false; // a row that does not open never matches (nor is removed)
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
  const { hash, accepts } = digest(canonicalJson(transaction));
  return { operationId, hash, accepts, append, replace };
}
