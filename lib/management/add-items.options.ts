import type { SessionMetadata } from './session-metadata';

/**
 * Second, optional argument of `ConversationSession.addItems()`. The Agents SDK runner never passes
 * it, so `addItems` stays assignable to the SDK's `Session.addItems(items)`.
 */
export interface AddItemsOptions {
  /** Replace the conversation's metadata in the same transaction as the append. */
  metadata?: SessionMetadata;
}

/** True for a plain options object (not, say, a RunContext some caller passed along). @internal */
export function isAddItemsOptions(value: unknown): value is AddItemsOptions {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
