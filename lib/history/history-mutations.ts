import type { SessionHistoryRewriteArgs } from '@openai/agents-core';
import { InvalidHistoryMutationError } from '../exceptions';
import type { ItemRewrite, StoredRow } from '../storage/session-store';
import { ItemLimits, encodeItems, parseJsonObject } from '../validation';
import { SnapshotRefusal, isModelItem, strictSnapshot } from './strict-snapshot';

/** One `replace_function_call` mutation, validated; the replacement as its JSON text. @internal */
export interface PlannedMutation {
  callId: string;
  replacement: string;
}

/**
 * Checks the arguments of `applyHistoryMutations` (before any I/O): `{ mutations }`, each a
 * `replace_function_call` with a non-empty `callId` and a `function_call` item as `replacement`.
 * @throws InvalidHistoryMutationError
 * @internal
 */
export function planHistoryMutations(args: SessionHistoryRewriteArgs | unknown, limits: ItemLimits): PlannedMutation[] {
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
  return snapshot.mutations.map((mutation: unknown, i: number) => {
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
    return { callId: m.callId, replacement };
  });
}

/**
 * What the mutations change in the stored rows (oldest first), by the Agents SDK's rule: for each
 * mutation in order, the first `function_call` with its `callId` becomes the replacement and later
 * ones are removed; every other row stays as it is. `undefined` when nothing matches.
 * @internal
 */
export function rewriteForMutations(rows: StoredRow[], mutations: PlannedMutation[]): ItemRewrite | undefined {
  const live = rows.map((row) => ({ id: row.id, data: row.message_data, item: parseJsonObject(row.message_data) }));
  const updated = new Map<number | string, string>();
  const deletes: (number | string)[] = [];
  let current = live;
  for (const mutation of mutations) {
    let replaced = false;
    const next: typeof live = [];
    for (const row of current) {
      const item = row.item as { type?: unknown; callId?: unknown } | undefined;
      if (item?.type === 'function_call' && item.callId === mutation.callId) {
        if (!replaced) {
          replaced = true;
          row.data = mutation.replacement;
          row.item = JSON.parse(mutation.replacement);
          updated.set(row.id, row.data);
          next.push(row);
        } else {
          updated.delete(row.id);
          deletes.push(row.id);
        }
        continue;
      }
      next.push(row);
    }
    current = next;
  }
  if (updated.size === 0 && deletes.length === 0) return undefined;
  return { updates: [...updated].map(([id, data]) => ({ id, data })), deletes };
}
