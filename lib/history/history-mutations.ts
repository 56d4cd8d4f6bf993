import type { SessionHistoryRewriteArgs } from '@openai/agents-core';
import { types } from 'util';
import { InvalidHistoryMutationError } from '../exceptions';
import type { PlainRow } from '../encryption/sealing-store';
import type { ItemRewrite } from '../storage/session-store';
import { ItemLimits, encodeItems, parseJsonObject } from '../validation';
import { SnapshotRefusal, isModelItem, strictSnapshot } from './strict-snapshot';

/** One `replace_function_call` mutation, validated; the replacement as its JSON text. @internal */
export interface PlannedMutation {
  callId: string;
  replacement: string;
}

/**
 * Checks the arguments of `applyHistoryMutations` (before any I/O): `{ mutations }`, each a
 * `replace_function_call` with a non-empty `callId` and a `function_call` item as `replacement`; at
 * most `limits.maxItemsPerCall` mutations (each carries one item to store, as `addItems` items do), and
 * at most `limits.maxBatchBytes` of replacement JSON in all.
 * @throws InvalidHistoryMutationError
 * @internal
 */
export function planHistoryMutations(args: SessionHistoryRewriteArgs | unknown, limits: ItemLimits): PlannedMutation[] {
  // An oversized list is refused by its length alone, before it is copied and checked item by item.
  checkCount(declaredLength(args), limits);
  let snapshot: { mutations?: unknown };
  try {
    snapshot = strictSnapshot(args, 'args') as { mutations?: unknown };
  } catch (err) {
    if (err instanceof SnapshotRefusal) throw new InvalidHistoryMutationError(`applyHistoryMutations: ${err.message}`);
    throw err;
  }
  if (snapshot === null || typeof snapshot !== 'object' || !Array.isArray(snapshot.mutations)) {
    throw new InvalidHistoryMutationError('applyHistoryMutations expects { mutations: [...] }.');
  }
  checkCount(snapshot.mutations.length, limits);
  let bytes = 0; // an upper bound first (3 UTF-8 bytes per UTF-16 unit), measured exactly only when it matters
  const planned = snapshot.mutations.map((mutation: unknown, i: number) => {
    const m = (mutation ?? {}) as { type?: unknown; callId?: unknown; replacement?: unknown };
    const path = `mutations[${i}]`;
    if (m.type !== 'replace_function_call') {
      throw new InvalidHistoryMutationError(
        `${path}.type ${JSON.stringify(m.type)} is not supported: the one mutation is "replace_function_call".`,
      );
    }
    if (typeof m.callId !== 'string' || m.callId.length === 0) {
      throw new InvalidHistoryMutationError(`${path}.callId must be a non-empty string.`);
    }
    const r = m.replacement as { type?: unknown } | null | undefined;
    if (r === null || typeof r !== 'object' || r.type !== 'function_call' || !isModelItem(r)) {
      throw new InvalidHistoryMutationError(`${path}.replacement must be a function_call item.`);
    }
    const [replacement] = encodeItems([r], limits);
    bytes += replacement.length * 3;
    return { callId: m.callId, replacement };
  });
  if (bytes > limits.maxBatchBytes) {
    const exact = planned.reduce((sum, m) => sum + Buffer.byteLength(m.replacement, 'utf8'), 0);
    if (exact > limits.maxBatchBytes) {
      throw new InvalidHistoryMutationError(
        `applyHistoryMutations got ${exact} bytes of replacement JSON in all; at most ${limits.maxBatchBytes} are allowed in one call (limits.maxBatchBytes). Apply the mutations in several calls.`,
      );
    }
  }
  return planned;
}

function checkCount(count: number | undefined, limits: ItemLimits): void {
  if (count !== undefined && count > limits.maxItemsPerCall) {
    throw new InvalidHistoryMutationError(
      `applyHistoryMutations got ${count} mutations; at most ${limits.maxItemsPerCall} are allowed per call (limits.maxItemsPerCall). Apply them in several calls.`,
    );
  }
}

/**
 * `args.mutations.length` when it can be read without running caller code (no Proxy, no getter on the
 * way); `undefined` otherwise (the snapshot then refuses or measures it).
 */
function declaredLength(args: unknown): number | undefined {
  if (args === null || typeof args !== 'object' || types.isProxy(args)) return undefined;
  const mutations = Object.getOwnPropertyDescriptor(args, 'mutations');
  if (!mutations || !('value' in mutations)) return undefined;
  const list: unknown = mutations.value;
  if (!Array.isArray(list) || types.isProxy(list)) return undefined;
  return list.length;
}

/**
 * What the mutations change in the stored rows (oldest first), by the Agents SDK's rule: for each
 * mutation in order, the first `function_call` with its `callId` becomes the replacement and later
 * ones are removed (a replacement with another `callId` is matched by that one from then on); every
 * other row, and every row that is not a JSON object, stays as it is. `undefined` when nothing matches.
 *
 * O(rows + mutations): the live `function_call` rows are kept grouped by `callId` (with the first of
 * each group), so a mutation touches only its own group, and each row leaves a group at most once
 * for good (when it is removed).
 * @internal
 */
export function rewriteForMutations(rows: readonly PlainRow[], mutations: PlannedMutation[]): ItemRewrite | undefined {
  const groups = new Map<string, CallGroup>();
  const join = (callId: unknown, index: number): void => {
    if (typeof callId !== 'string') return; // a mutation's callId is a non-empty string: never matched
    const group = groups.get(callId);
    if (!group) groups.set(callId, { first: index, members: [index] });
    else {
      group.members.push(index);
      if (index < group.first) group.first = index;
    }
  };
  for (let i = 0; i < rows.length; i++) {
    const text = rows[i].message_data;
    const item = text === undefined ? undefined : parseJsonObject(text);
    if (item?.type === 'function_call') join(item.callId, i);
  }
  if (groups.size === 0) return undefined;

  const text = new Map<number, string>(); // row index -> its replacement text
  const removed = new Uint8Array(rows.length);
  for (const mutation of mutations) {
    const { callId, replacement } = mutation;
    const group = groups.get(callId);
    if (!group) continue;
    groups.delete(callId);
    for (const index of group.members) if (index !== group.first) removed[index] = 1;
    text.set(group.first, replacement);
    join((JSON.parse(replacement) as { callId?: unknown }).callId, group.first);
  }
  if (text.size === 0) return undefined;

  const rewrite: ItemRewrite = { updates: [], deletes: [] };
  for (let i = 0; i < rows.length; i++) {
    if (removed[i]) rewrite.deletes.push(rows[i].id);
    else {
      const data = text.get(i);
      if (data !== undefined) rewrite.updates.push({ id: rows[i].id, data });
    }
  }
  return rewrite;
}

/** The live `function_call` rows of one `callId`: their indexes (in any order) and the smallest of them. */
interface CallGroup {
  first: number;
  members: number[];
}
