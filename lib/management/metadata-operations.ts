import { guardConversation } from '../storage/conversation-limiter';
import type { SessionItem } from '../interfaces';
import type { SessionMemoryContext } from '../session-memory.context';
import { SessionMetadata, decodeMetadata, encodeMetadata } from './session-metadata';

/** The metadata of a conversation, or `undefined` when it has none. @internal */
export async function getMetadata(
  context: SessionMemoryContext,
  conversationId: string,
): Promise<SessionMetadata | undefined> {
  await context.optionalTables.require('metadata');
  return decodeMetadata(await context.gate.guard('getMetadata', () => context.store.readMetadata(conversationId)));
}

/**
 * Replaces (with `null` removes) the metadata, appending `items` (already encoded as `encoded`) in the
 * same transaction, and reports the items to the change stream. @internal
 */
export async function setMetadata(
  context: SessionMemoryContext,
  conversationId: string,
  metadata: SessionMetadata | null,
  items: { encoded: string[]; decoded: SessionItem[] } = { encoded: [], decoded: [] },
  authorize?: () => Promise<void> | undefined,
): Promise<void> {
  const json = metadata === null ? null : encodeMetadata(metadata);
  await context.optionalTables.require('metadata');
  await authorize?.();
  await guardConversation(context, 'setMetadata', conversationId, () =>
    context.store.writeMetadata(conversationId, json, items.encoded),
  );
  await context.changes.itemsAdded(conversationId, items.decoded);
}
