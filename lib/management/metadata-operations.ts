import { guardConversation } from '../storage/conversation-limiter';
import type { SessionItem } from '../interfaces';
import type { OwnerCheck, OwnerWriteKind } from '../ownership/owner-check';
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
 * A metadata write, validated and ready: the JSON to store (`null` removes the metadata), items to
 * append in the same transaction (plaintext JSON, and as items for the change stream), and what the
 * write does to the conversation (`kind`, for the owner check). @internal
 */
export interface MetadataWrite {
  readonly conversationId: string;
  readonly json: string | null;
  readonly items: { encoded: string[]; decoded: SessionItem[] };
  /** Removing metadata, with no items, changes an existing conversation only (nothing when there is none). */
  readonly kind: OwnerWriteKind;
}

/**
 * The first step of `setMetadata`: validates the metadata (before any I/O) and checks that the
 * metadata table exists. The caller then checks the owner (`OwnerCheck.write(write.kind)`) and runs
 * it with `writeMetadata`.
 * @throws InvalidSessionMetadataError when it is not a plain JSON object within the limit.
 * @internal
 */
export async function planMetadataWrite(
  context: SessionMemoryContext,
  conversationId: string,
  metadata: SessionMetadata | null,
  items: { encoded: string[]; decoded: SessionItem[] } = { encoded: [], decoded: [] },
): Promise<MetadataWrite> {
  const json = metadata === null ? null : encodeMetadata(metadata);
  await context.optionalTables.require('metadata');
  const kind: OwnerWriteKind = json === null && items.encoded.length === 0 ? 'existing' : 'create';
  return { conversationId, json, items, kind };
}

/**
 * Replaces (with `null` removes) the metadata and appends the items in one transaction (sealed by
 * the sealing layer), and reports the items to the change stream. @internal
 */
export async function writeMetadata(context: SessionMemoryContext, write: MetadataWrite): Promise<void> {
  const { conversationId, json, items } = write;
  await guardConversation(context, 'setMetadata', conversationId, () =>
    context.items.writeMetadata(conversationId, json, items.encoded),
  );
  await context.changes.itemsAdded(conversationId, items.decoded);
}
