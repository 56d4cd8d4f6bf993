import type {
  Session,
  SessionHistoryRewriteArgs,
  SessionHistoryRewriteAwareSession,
  SessionHistoryTransactionArgs,
  SessionHistoryTransactionAwareSession,
} from '@openai/agents-core';
import { InvalidSessionItemsError } from './exceptions';
import { applyHistoryTransaction } from './history/apply-history-transaction';
import { planHistoryMutations, rewriteForMutations } from './history/history-mutations';
import type { SessionItem } from './interfaces';
import { AddItemsOptions, isAddItemsOptions } from './management/add-items.options';
import { getMetadata, setMetadata } from './management/metadata-operations';
import type { SessionMetadata } from './management/session-metadata';
import type { SessionMemoryContext } from './session-memory.context';
import type { HistoryBasis, StoredRow } from './storage/session-store';
import { assertLimit, encodeItems, parseJsonObject } from './validation';

/**
 * The stored history of one conversation, implementing the OpenAI Agents SDK `Session` contract:
 * pass it as `run(agent, input, { session })`. Get one from `SessionMemoryService.session(id)`
 * (no I/O) or inject the current request's with `@InjectConversationSession()` / `@Conversation()`.
 *
 * Items are kept in insertion order (ordered by row id, never by timestamp). A stored row that is not a
 * JSON object is skipped with a warning and does not count towards `limit`.
 */
export class ConversationSession
  implements Session, SessionHistoryTransactionAwareSession, SessionHistoryRewriteAwareSession
{
  /**
   * The stored rows as this object last saw them whole (its last `getItems()` without a limit, kept
   * up to date by its own writes): lets a compaction keep what others appended since.
   */
  private basis: HistoryBasis | undefined;

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
   * Returns the newest `limit` items in chronological order (oldest first); the whole history when
   * `limit` is left out (always: the Agents SDK runner relies on it; window what the model sees with
   * `windowHistory()`); `[]` for 0.
   * @throws InvalidLimitError for a negative or fractional limit.
   */
  async getItems(limit?: number): Promise<SessionItem[]> {
    assertLimit(limit);
    if (limit === 0) return [];
    const { store, gate } = this.context;
    return gate.guard('getItems', async () => {
      if (limit === undefined) {
        // Texts only first (no row ids to fetch and parse). Should a row be corrupt, read again with
        // the ids, which the warning names.
        const texts = await store.readAllData(this.conversationId);
        const items = parseObjects(texts, false);
        if (items) {
          this.basis = { count: texts.length, last: texts[texts.length - 1] };
          return items;
        }
        const rows = await store.readAll(this.conversationId);
        this.basis = { count: rows.length, last: rows[rows.length - 1]?.message_data };
        return this.decodeRows(rows);
      }
      const items = parseObjects(await store.readNewestData(this.conversationId, limit), true);
      if (items) return items;
      const newestFirst: SessionItem[] = [];
      let before: number | string | undefined;
      for (;;) {
        const want = limit - newestFirst.length;
        const rows = await store.readNewest(this.conversationId, want, before);
        for (const row of rows) {
          const item = this.decode(row);
          if (item) newestFirst.push(item);
        }
        // Only a corrupt row makes a batch come up short of valid items: then read on, older.
        if (rows.length < want || newestFirst.length >= limit) break;
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
    if (this.basis) this.basis = { count: this.basis.count + encoded.length, last: encoded[encoded.length - 1] };
    if (changes.wants(this.conversationId)) await changes.itemsAdded(this.conversationId, decoded());
  }

  /**
   * Removes and returns the newest item, or `undefined` when the conversation is empty. Under
   * concurrency each item is returned to exactly one caller. A corrupt newest row is removed and
   * skipped (with a warning).
   */
  async popItem(): Promise<SessionItem | undefined> {
    const { store, gate, changes } = this.context;
    this.basis = undefined;
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

  /**
   * Deletes every item of the conversation and keeps the conversation itself: its `createdAt`,
   * metadata and history-operation log stay (wrappers that clear and refill, such as
   * `OpenAIResponsesCompactionSession`, keep what the application attached). To remove the
   * conversation entirely, use `SessionMemoryService.deleteSession(id)`.
   */
  async clearSession(): Promise<void> {
    this.basis = undefined;
    await this.context.gate.guard('clearSession', () => this.context.store.clearItems(this.conversationId));
    this.basis = { count: 0, last: undefined };
    await this.context.changes.conversationCleared(this.conversationId);
  }

  /**
   * Agents SDK compaction: replaces the whole history with `items` (a `compaction` item first, then
   * the items kept after it) in one database transaction. Readers see the old history or the new
   * one, never a mix or an empty one; a concurrent `addItems` lands wholly before (and is replaced)
   * or wholly after. Items others appended since this session's last whole `getItems()` (the read
   * the runner compacts from) are kept, after the new items. The conversation's `createdAt`,
   * metadata and operation log stay.
   * @throws InvalidSessionItemsError when `items` is not storable or does not start with a `compaction` item.
   */
  async replaceHistoryWithCompaction(items: SessionItem[]): Promise<void> {
    const encoded = encodeItems(items, this.context.limits);
    if ((items[0] as { type?: unknown } | undefined)?.type !== 'compaction') {
      throw new InvalidSessionItemsError(
        'replaceHistoryWithCompaction expects items that start with a compaction item. To replace the history with anything else, use clearSession() and addItems().',
      );
    }
    const basis = this.basis;
    this.basis = undefined;
    const { gate, store } = this.context;
    const outcome = await gate.guard('replaceHistoryWithCompaction', () =>
      store.replaceItems(this.conversationId, encoded, basis),
    );
    const stored = [...encoded, ...outcome.kept];
    this.basis = { count: stored.length, last: stored[stored.length - 1] };
    await this.publishReplaced(stored);
  }

  /**
   * Agents SDK `SessionHistoryRewriteAwareSession`: applies `replace_function_call` mutations in one
   * database transaction, as `MemorySession` does: the first stored `function_call` with the
   * mutation's `callId` becomes `replacement`, later ones with that `callId` are removed.
   * @throws InvalidHistoryMutationError for malformed arguments (before any I/O).
   */
  async applyHistoryMutations(args: SessionHistoryRewriteArgs): Promise<void> {
    const mutations = planHistoryMutations(args, this.context.limits);
    if (mutations.length === 0) return;
    this.basis = undefined;
    const { gate, store, changes } = this.context;
    const change: unknown = await gate.guard('applyHistoryMutations', () =>
      store.rewriteItems(this.conversationId, (rows) => rewriteForMutations(rows, mutations)),
    );
    if (change && changes.wants(this.conversationId)) {
      await this.publishReplaced(await store.readAllData(this.conversationId));
    }
  }

  /** A whole-history replacement, on the change stream: `cleared`, then `added` with the new history. */
  private async publishReplaced(texts: string[]): Promise<void> {
    const { changes } = this.context;
    if (!changes.wants(this.conversationId)) return;
    await changes.conversationCleared(this.conversationId);
    await changes.itemsAdded(
      this.conversationId,
      texts.map((json) => JSON.parse(json) as SessionItem),
    );
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
    this.basis = undefined;
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
