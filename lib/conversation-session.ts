import type {
  Session,
  SessionHistoryTransactionArgs,
  SessionHistoryTransactionAwareSession,
} from '@openai/agents-core';
import { applyHistoryTransaction } from './history/apply-history-transaction';
import type { SessionItem } from './interfaces';
import { AddItemsOptions, isAddItemsOptions } from './management/add-items.options';
import { getMetadata, setMetadata } from './management/metadata-operations';
import type { SessionMetadata } from './management/session-metadata';
import type { SessionMemoryContext } from './session-memory.context';
import type { StoredRow } from './storage/session-store';
import { assertLimit, encodeItems, parseJsonObject } from './validation';

/**
 * The stored history of one conversation, implementing the OpenAI Agents SDK `Session` contract:
 * pass it as `run(agent, input, { session })`. Get one from `SessionMemoryService.session(id)`
 * (no I/O) or inject the current request's with `@InjectConversationSession()` / `@Conversation()`.
 *
 * Items are kept in insertion order (ordered by row id, never by timestamp). A stored row that is not a
 * JSON object is skipped with a warning and does not count towards `limit`.
 */
export class ConversationSession implements Session, SessionHistoryTransactionAwareSession {
  /** @internal Use `SessionMemoryService.session(id)`. */
  constructor(
    /** The conversation id (validated). */
    readonly conversationId: string,
    private readonly context: SessionMemoryContext,
  ) {}

  /** Returns the conversation id. */
  async getSessionId(): Promise<string> {
    return this.conversationId;
  }

  /**
   * Returns the newest `limit` items in chronological order (oldest first); all items when `limit`
   * is left out (or the module's `defaultLimit` when one is set); `[]` for 0.
   * @throws InvalidLimitError for a negative or fractional limit.
   */
  async getItems(limit?: number): Promise<SessionItem[]> {
    const n = limit === undefined ? this.context.defaultLimit : limit;
    assertLimit(n);
    if (n === 0) return [];
    const { store, gate } = this.context;
    return gate.guard('getItems', async () => {
      // Texts only first (no row ids to fetch and parse). Should a row be corrupt, read again below
      // with the ids, which the warning names and the paging past corrupt rows needs.
      if (n === undefined) {
        return (
          parseObjects(await store.readAllData(this.conversationId), false) ??
          this.decodeRows(await store.readAll(this.conversationId))
        );
      }
      const items = parseObjects(await store.readNewestData(this.conversationId, n), true);
      if (items) return items;
      const newestFirst: SessionItem[] = [];
      let before: number | string | undefined;
      for (;;) {
        const want = n - newestFirst.length;
        const rows = await store.readNewest(this.conversationId, want, before);
        for (const row of rows) {
          const item = this.decode(row);
          if (item) newestFirst.push(item);
        }
        // Only a corrupt row makes a batch come up short of valid items: then read on, older.
        if (rows.length < want || newestFirst.length >= n) break;
        before = rows[rows.length - 1].id;
      }
      return newestFirst.reverse();
    });
  }

  /**
   * Appends items atomically (all or none), in order. Every item is checked first; a bad one throws
   * `InvalidSessionItemsError` and nothing is written. With `{ metadata }`, also replaces the
   * conversation's metadata in the same transaction (see `setMetadata`).
   */
  async addItems(items: SessionItem[], options?: AddItemsOptions): Promise<void> {
    const encoded = encodeItems(items, this.context.limits);
    const decoded = () => encoded.map((json) => JSON.parse(json) as SessionItem);
    if (options !== undefined && isAddItemsOptions(options) && options.metadata !== undefined) {
      // Items and metadata in one transaction (an optional path: plain addItems stays one statement).
      return setMetadata(this.context, this.conversationId, options.metadata, { encoded, decoded: decoded() });
    }
    if (encoded.length === 0) return;
    const { gate, store, changes } = this.context;
    await gate.guard('addItems', () => store.append(this.conversationId, encoded));
    if (changes.wants(this.conversationId)) await changes.itemsAdded(this.conversationId, decoded());
  }

  /**
   * Removes and returns the newest item, or `undefined` when the conversation is empty. Under
   * concurrency each item is returned to exactly one caller. A corrupt newest row is removed and
   * skipped (with a warning).
   */
  async popItem(): Promise<SessionItem | undefined> {
    const { store, gate, changes } = this.context;
    const popped = await gate.guard('popItem', async () => {
      for (;;) {
        const row = await store.popNewest(this.conversationId);
        if (!row) return undefined;
        const item = this.decode(row);
        if (item) return item;
      }
    });
    if (popped) await changes.itemPopped(this.conversationId, popped);
    return popped;
  }

  /** Deletes every item of the conversation and its session row. */
  async clearSession(): Promise<void> {
    await this.context.gate.guard('clearSession', () => this.context.store.clear(this.conversationId));
    await this.context.changes.conversationCleared(this.conversationId);
  }

  /**
   * Agents SDK `SessionHistoryTransactionAwareSession`: applies `append_items` or `replace_suffix`
   * atomically, recording `operationId` in the same database transaction. Replaying an operation id
   * with the same transaction (from any process) changes nothing and resolves.
   * @throws HistoryOperationConflictError when the id was applied with a different transaction.
   * @throws HistorySuffixMismatchError when `expectedSuffix` is not the stored newest items.
   * @throws InvalidHistoryTransactionError for malformed arguments (before any I/O).
   */
  async applyHistoryTransaction(args: SessionHistoryTransactionArgs): Promise<void> {
    await applyHistoryTransaction(this.context, this.conversationId, args);
  }

  /** The conversation's metadata (a JSON object), or `undefined` when it has none. */
  async getMetadata(): Promise<SessionMetadata | undefined> {
    return getMetadata(this.context, this.conversationId);
  }

  /**
   * Replaces the conversation's metadata (a JSON object of at most 64 KiB; `null` removes it),
   * creating the conversation if needed. Filter on it with `listSessions({ metadata })`.
   * @throws InvalidSessionMetadataError when it is not a plain JSON object within the limit.
   */
  async setMetadata(metadata: SessionMetadata | null): Promise<void> {
    return setMetadata(this.context, this.conversationId, metadata);
  }

  private decodeRows(rows: StoredRow[]): SessionItem[] {
    const items: SessionItem[] = [];
    for (const row of rows) {
      const item = this.decode(row);
      if (item) items.push(item);
    }
    return items;
  }

  private decode(row: StoredRow): SessionItem | undefined {
    const item = parseJsonObject(row.message_data);
    if (item) return item as SessionItem;
    this.context.logger.warn(
      `Skipping corrupt row id=${row.id} of conversation ${JSON.stringify(this.conversationId)}: message_data is not a JSON object.`,
    );
    return undefined;
  }
}

/**
 * Parses stored texts into items (in reverse order when `reverse`), or returns `undefined` as soon as
 * one is not a JSON object: the caller then reads again with row ids and skips it with a warning.
 */
function parseObjects(texts: string[], reverse: boolean): SessionItem[] | undefined {
  const n = texts.length;
  const items = new Array<SessionItem>(n);
  for (let i = 0; i < n; i++) {
    const item = parseJsonObject(texts[i]);
    if (!item) return undefined;
    items[reverse ? n - 1 - i : i] = item as SessionItem;
  }
  return items;
}
