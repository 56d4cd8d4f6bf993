import { guardConversation } from '../storage/conversation-limiter';
import type { SessionItem } from '../interfaces';
import type { OwnerCheck, OwnerWriteAccess, OwnerWriteKind } from '../ownership/owner-check';
import type { SessionMemoryContext } from '../session-memory.context';
import type { OwnerFilter } from '../storage/session-store';
import { SessionMetadata, decodeMetadata, encodeMetadata } from './session-metadata';

/**
 * The metadata of a conversation, or `undefined` when it has none. With `check`, the read carries
 * the caller's ownership in its own statement. @internal
 */
export async function getMetadata(
  context: SessionMemoryContext,
  conversationId: string,
  check?: OwnerCheck,
): Promise<SessionMetadata | undefined> {
  await context.optionalTables.require('metadata');
  const read = (filter?: OwnerFilter) =>
    context.gate.guard('getMetadata', () => context.store.readMetadata(conversationId, filter));
  const stored = check ? await check.read(read, (value) => value === undefined || value === null) : await read();
  return decodeMetadata(stored);
}

/**
 * Replaces (with `null` removes) the metadata, appending `items` (already encoded as `encoded`) in the
 * same transaction, and reports the items to the change stream. `authorize` is the caller's write
 * check (see `OwnerCheck.write`): removing metadata, with no items, changes an existing conversation
 * only, and does nothing when there is none. @internal
 */
export async function setMetadata(
  context: SessionMemoryContext,
  conversationId: string,
  metadata: SessionMetadata | null,
  items: { encoded: string[]; decoded: SessionItem[] } = { encoded: [], decoded: [] },
  authorize?: (kind: OwnerWriteKind) => Promise<OwnerWriteAccess | void> | undefined,
): Promise<void> {
  const json = metadata === null ? null : encodeMetadata(metadata);
  await context.optionalTables.require('metadata');
  const kind: OwnerWriteKind = json === null && items.encoded.length === 0 ? 'existing' : 'create';
  if ((await authorize?.(kind)) === 'absent') return;
  await guardConversation(context, 'setMetadata', conversationId, () =>
    context.store.writeMetadata(conversationId, json, items.encoded),
  );
  await context.changes.itemsAdded(conversationId, items.decoded);
}
