import type {
  RunContext,
  RunContextAwareSession,
  Session,
  SessionHistoryRewriteArgs,
  SessionHistoryRewriteAwareSession,
  SessionHistoryTransactionArgs,
  SessionHistoryTransactionAwareSession,
} from '@openai/agents-core';
import {
  InvalidLimitError,
  InvalidSessionInputError,
  InvalidSessionItemsError,
  UnreadableItemsError,
} from './exceptions';
import { applyHistoryTransaction } from './history/apply-history-transaction';
import { planHistoryMutations, rewriteForMutations } from './history/history-mutations';
import { KnownHistory } from './history/known-history';
import type { OwnerCheck } from './ownership/owner-check';
import { guardConversation } from './storage/conversation-limiter';
import type { SessionItem } from './interfaces';
import { AddItemsOptions, isAddItemsOptions } from './management/add-items.options';
import { getMetadata, setMetadata } from './management/metadata-operations';
import type { SessionMetadata } from './management/session-metadata';
import type { SessionMemoryContext } from './session-memory.context';
import type { OwnerFilter, PopDecision, SkippedRows, StoredRow } from './storage/session-store';
import { assertLimit, encodeItems, isRowIdText, parseJsonObject } from './validation';

/**
 * The stored history of one conversation, implementing the OpenAI Agents SDK `Session` contract:
 * pass it as `run(agent, input, { session })`. Get one from `SessionMemoryService.session(id)`
 * (no I/O) or inject the current request's with `@InjectConversationSession()` / `@Conversation()`.
 *
 * Items are kept in insertion order (ordered by row id, never by timestamp). A stored row that is not a
 * JSON object is skipped with a warning and does not count towards `limit`.
 */
export class ConversationSession
  implements Session, RunContextAwareSession, SessionHistoryTransactionAwareSession, SessionHistoryRewriteAwareSession
{
  /**
   * Agents SDK `RunContextAwareSession`: the runner passes its run's context to every history call,
   * which tells this session which whole read a compaction in that run was computed from.
   */
  readonly acceptsRunContext = true as const;

  /**
   * The rows this object knows of: its latest whole `getItems()`, kept up to date by its own writes.
   * A compaction replaces only rows known here (or to its run), and keeps any other row after it.
   */
  private known: KnownHistory | undefined;
  /** Per runner run: what its first whole read returned (the history the model saw), plus its writes. */
  private knownByRun = new WeakMap<object, KnownHistory>();

  /** @internal Use `SessionMemoryService.session(id)`. */
  constructor(
    /** The conversation id (validated). */
    readonly conversationId: string,
    private readonly context: SessionMemoryContext,
    /** The caller's ownership check, for a session opened for an owner. */
    private readonly ownerCheck?: OwnerCheck,
  ) {}

  /** The caller this session was opened for (`session(id, { owner })`, or the module's `owner` option), if any. */
  get owner(): string | undefined {
    return this.ownerCheck?.owner;
  }

  /**
   * Checks now that the caller may read this conversation (what `@Conversation()` does before the
   * handler runs). A no-op for a session opened without an owner.
   * @throws ConversationAccessDeniedError when another caller owns it.
   * @internal
   */
  async checkAccess(): Promise<void> {
    await this.ownerCheck?.access();
  }

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
  async getItems(limit?: number, runContext?: RunContext<unknown>): Promise<SessionItem[]> {
    assertLimit(limit);
    if (limit === 0) {
      await this.ownerCheck?.access();
      return [];
    }
    const { store } = this.context;
    const empty = (items: SessionItem[]) => items.length === 0;
    return this.checkedRead('getItems', empty, async (filter) => {
      if (limit === undefined) {
        // With the row ids: a compaction computed from this read recognises its rows by them.
        const rows = await store.readAll(this.conversationId, filter);
        const read: (number | string)[] = [];
        const items = this.decodeRows(rows, read);
        this.learn(read, runContext);
        return items;
      }
      const items = this.parseObjects(await store.readNewestData(this.conversationId, limit, filter), true);
      if (items) return items;
      const newestFirst: SessionItem[] = [];
      const skipped = new SkippedRowsCounter();
      let before: number | string | undefined;
      // Only corrupt rows make a batch come up short of valid items: then read on, older, in batches
      // that grow (up to READ_BATCH_MAX rows), so that many corrupt rows cost a few queries.
      for (let batch = limit; ; batch = Math.min(Math.max(batch * 4, limit), READ_BATCH_MAX)) {
        const rows = await store.readNewest(this.conversationId, batch, before, filter);
        for (const row of rows) {
          if (newestFirst.length >= limit) break;
          const item = this.open(row.message_data);
          if (item) newestFirst.push(item);
          else skipped.add(row);
        }
        if (rows.length < batch || newestFirst.length >= limit) break;
        before = rows[rows.length - 1].id;
      }
      this.warnSkipped(skipped.result);
      return newestFirst.reverse();
    });
  }

  /**
   * One page of history for "load older messages": the `limit` items stored before the `before`
   * cursor (from the newest when left out), oldest first, and the cursor of the page before it
   * (`undefined` when there is none). A keyset read: a page costs `limit` rows however far back it is,
   * and items added meanwhile do not shift the pages. Not part of the Agents SDK `Session`.
   * @throws InvalidLimitError for a `limit` that is not a whole number from 1 to 1000.
   * @throws InvalidSessionInputError for a `before` that is not a cursor this method returned.
   */
  async getItemsPage(options: { limit: number; before?: string }): Promise<{ items: SessionItem[]; before?: string }> {
    const { limit, before } = options ?? ({} as { limit: number });
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidLimitError(`getItemsPage limit must be a whole number from 1 to 1000, got ${String(limit)}.`);
    }
    if (before !== undefined && !isRowIdText(before)) {
      throw new InvalidSessionInputError('getItemsPage before must be a cursor an earlier page returned.');
    }
    const { store } = this.context;
    const empty = (page: { items: SessionItem[]; before?: string }) => page.items.length === 0 && !page.before;
    return this.checkedRead('getItemsPage', empty, async (filter) => {
      const rows = await store.readNewest(this.conversationId, limit + 1, before, filter);
      const page = rows.slice(0, limit);
      const items: SessionItem[] = [];
      const skipped = new SkippedRowsCounter();
      for (const row of page) {
        const item = this.open(row.message_data);
        if (item) items.push(item);
        else skipped.add(row);
      }
      this.warnSkipped(skipped.result);
      items.reverse();
      return rows.length > limit ? { items, before: String(page[page.length - 1].id) } : { items };
    });
  }

  /**
   * Appends items atomically (all or none), in order. Every item is checked first; a bad one throws
   * `InvalidSessionItemsError` and nothing is written. With `{ metadata }`, also replaces the
   * conversation's metadata in the same transaction (see `setMetadata`).
   */
  async addItems(items: SessionItem[], options?: AddItemsOptions | RunContext<unknown>): Promise<void> {
    const encoded = encodeItems(items, this.context.limits);
    const runContext = isAddItemsOptions(options) ? undefined : options;
    const decoded = () => encoded.map((json) => JSON.parse(json) as SessionItem);
    const { store, changes, codec } = this.context;
    if (options !== undefined && isAddItemsOptions(options) && options.metadata !== undefined) {
      // Items and metadata in one transaction (an optional path: plain addItems stays one statement).
      const sealed = codec.seal(this.conversationId, encoded);
      await setMetadata(
        this.context,
        this.conversationId,
        options.metadata,
        { encoded: sealed, decoded: decoded() },
        (kind) => this.ownerCheck?.write(kind),
      );
      this.wrote(encoded, undefined);
      return;
    }
    if (encoded.length === 0) return;
    await this.ownerCheck?.write();
    const sealed = codec.sealing ? codec.seal(this.conversationId, encoded) : encoded;
    await guardConversation(this.context, 'addItems', this.conversationId, () =>
      store.append(this.conversationId, sealed),
    );
    this.wrote(encoded, runContext);
    if (changes.wants(this.conversationId)) await changes.itemsAdded(this.conversationId, decoded());
  }

  /**
   * Removes and returns the newest item, or `undefined` when the conversation is empty. Under
   * concurrency each item is returned to exactly one caller. A corrupt newest row is removed and
   * skipped (with a warning); so is an encrypted one that only expired (`encryption.ttl`).
   * @throws UnreadableItemsError when the newest rows are ones no configured encryption key opens
   * (a key missing from `encryption.keys`, altered rows): nothing is deleted.
   */
  async popItem(runContext?: RunContext<unknown>): Promise<SessionItem | undefined> {
    if ((await this.ownerCheck?.write('existing')) === 'absent') return undefined; // nothing to pop, nothing claimed
    const { store, changes, codec } = this.context;
    const id = this.conversationId;
    const popped = await guardConversation(this.context, 'popItem', id, async () => {
      const outcome = await store.popNewest(id, (text) => this.popDecision(text), { mayKeep: codec.sealing });
      if (outcome.unopenable !== undefined) throw new UnreadableItemsError(id, outcome.unopenable);
      this.warnSkipped(outcome.skipped);
      if (outcome.row) {
        const json = JSON.stringify(outcome.value);
        for (const known of this.knowledge(runContext)) known.remove(outcome.row.id, json);
      }
      return outcome.value;
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
  async clearSession(runContext?: RunContext<unknown>): Promise<void> {
    if ((await this.ownerCheck?.write('existing')) === 'absent') return; // nothing to clear, nothing claimed
    this.forget();
    await guardConversation(this.context, 'clearSession', this.conversationId, () =>
      this.context.store.clearItems(this.conversationId),
    );
    this.learnExact([], runContext);
    await this.context.changes.conversationCleared(this.conversationId);
  }

  /**
   * Agents SDK compaction: replaces the whole history with `items` (a `compaction` item first, then
   * the items kept after it) in one database transaction. Readers see the old history or the new
   * one, never a mix or an empty one; a concurrent `addItems` lands wholly before or wholly after.
   * Only the items the compaction was computed from are replaced: those of the run's first whole
   * read (the history the model saw) when the runner passes its run context, else of this object's
   * latest whole `getItems()`, plus what it wrote since. Items others added meanwhile are kept, after
   * the new ones; with no such read, everything is replaced. `createdAt`, metadata and the operation
   * log stay.
   * @throws InvalidSessionItemsError when `items` is not storable or does not start with a `compaction` item.
   */
  async replaceHistoryWithCompaction(items: SessionItem[], runContext?: RunContext<unknown>): Promise<void> {
    const encoded = encodeItems(items, this.context.limits);
    if ((items[0] as { type?: unknown } | undefined)?.type !== 'compaction') {
      throw new InvalidSessionItemsError(
        'replaceHistoryWithCompaction expects items that start with a compaction item. To replace the history with anything else, use clearSession() and addItems().',
      );
    }
    await this.ownerCheck?.write();
    const known = (runContext && this.knownByRun.get(runContext)) ?? this.known;
    this.forget();
    const { store, codec } = this.context;
    const id = this.conversationId;
    const sealed = codec.seal(id, encoded);
    const outcome = await guardConversation(this.context, 'replaceHistoryWithCompaction', id, () =>
      store.replaceItems(id, sealed, (rows) => this.rowsToKeep(rows, known)),
    );
    const kept: string[] = [];
    for (const text of outcome.kept) {
      const json = codec.open(id, text);
      if (json !== undefined) kept.push(json);
    }
    this.learnExact([...encoded, ...kept], runContext);
    await this.publishReplaced([...sealed, ...outcome.kept]);
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
    if ((await this.ownerCheck?.write('existing')) === 'absent') return; // nothing to rewrite, nothing claimed
    this.forget();
    const { store, changes, codec } = this.context;
    const id = this.conversationId;
    const change: unknown = await guardConversation(this.context, 'applyHistoryMutations', id, () =>
      store.rewriteItems(id, (rows) => {
        // Matched on plaintext; a row no key opens is left alone.
        const open = rows.map((r) => ({ id: r.id, message_data: codec.open(id, r.message_data) ?? '' }));
        const rewrite = rewriteForMutations(open, mutations);
        if (!rewrite) return undefined;
        return { ...rewrite, updates: rewrite.updates.map((u) => ({ id: u.id, data: codec.seal(id, [u.data])[0] })) };
      }),
    );
    if (change && changes.wants(this.conversationId)) {
      await this.publishReplaced(await store.readAllData(this.conversationId));
    }
  }

  /** How a pop treats a stored text: its item, a corrupt row to remove, or a row no configured key opens (kept). */
  private popDecision(stored: string): PopDecision<SessionItem> {
    const item = this.open(stored);
    if (item) return { value: item };
    return this.context.codec.mustKeep(this.conversationId, stored) ? 'keep' : 'skip';
  }

  /**
   * The rows (locked, oldest first) a compaction stores again after its items: the ones it was not
   * computed from (`known` does not know them: others wrote them meanwhile), and every row no
   * configured key opens, which is never deleted. Without knowledge, only the latter.
   */
  private rowsToKeep(rows: StoredRow[], known: KnownHistory | undefined): string[] {
    const { codec } = this.context;
    const id = this.conversationId;
    const knows = known?.matcher();
    const open = (stored: string) => codec.open(id, stored);
    const kept: string[] = [];
    for (const row of rows) {
      if (knows?.(row, open)) continue;
      const opens = codec.open(id, row.message_data) !== undefined;
      if (opens ? knows !== undefined : codec.mustKeep(id, row.message_data)) kept.push(row.message_data);
    }
    return kept;
  }

  /**
   * A read through the gate; for a session opened for an owner, `read` gets the `OwnerFilter` its
   * statements carry, and `OwnerCheck.read` tells a refusal from an empty result (`isEmpty`).
   */
  private checkedRead<T>(
    name: string,
    isEmpty: (result: T) => boolean,
    read: (filter?: OwnerFilter) => Promise<T>,
  ): Promise<T> {
    const attempt = (filter?: OwnerFilter) => this.context.gate.guard(name, () => read(filter));
    return this.ownerCheck ? this.ownerCheck.read(attempt, isEmpty) : attempt();
  }

  /** A whole-history replacement (stored texts), on the change stream: `cleared`, then `added` with the new history. */
  private async publishReplaced(stored: string[]): Promise<void> {
    const { changes } = this.context;
    if (!changes.wants(this.conversationId)) return;
    await changes.conversationCleared(this.conversationId);
    const items: SessionItem[] = [];
    for (const text of stored) {
      const item = this.open(text);
      if (item) items.push(item);
    }
    await changes.itemsAdded(this.conversationId, items);
  }

  /** The item of a stored text: decrypted when it is an envelope; undefined when corrupt or no key opens it. */
  private open(stored: string): SessionItem | undefined {
    const { codec } = this.context;
    const text = codec.sealing ? codec.open(this.conversationId, stored) : stored;
    return text === undefined ? undefined : (parseJsonObject(text) as SessionItem | undefined);
  }

  /**
   * Parses stored texts into items (in reverse order when `reverse`), or returns `undefined` as soon as
   * one does not give an item: the caller then reads again with row ids and skips it with a warning.
   */
  private parseObjects(texts: string[], reverse: boolean): SessionItem[] | undefined {
    const n = texts.length;
    const items = new Array<SessionItem>(n);
    for (let i = 0; i < n; i++) {
      const item = this.open(texts[i]);
      if (!item) return undefined;
      items[reverse ? n - 1 - i : i] = item;
    }
    return items;
  }

  /**
   * Agents SDK `SessionHistoryTransactionAwareSession`: applies `append_items` or `replace_suffix`
   * atomically, recording `operationId` in the same database transaction. Replaying an operation id
   * with the same transaction (from any process) changes nothing and resolves.
   * @throws HistoryOperationConflictError when the id was applied with a different transaction.
   * @throws HistorySuffixMismatchError when `expectedSuffix` is not the stored newest items.
   * @throws InvalidHistoryTransactionError for malformed arguments (before any I/O).
   */
  async applyHistoryTransaction(args: SessionHistoryTransactionArgs, runContext?: RunContext<unknown>): Promise<void> {
    const outcome = await applyHistoryTransaction(this.context, this.conversationId, args, async () => {
      await this.ownerCheck?.write();
    });
    if (outcome.status !== 'applied') return;
    const { codec } = this.context;
    for (const known of this.knowledge(runContext)) {
      for (const row of outcome.removed) known.remove(row.id, codec.open(this.conversationId, row.message_data) ?? '');
      known.add(outcome.appended);
    }
  }

  /** The conversation's metadata (a JSON object), or `undefined` when it has none. */
  async getMetadata(): Promise<SessionMetadata | undefined> {
    return getMetadata(this.context, this.conversationId, this.ownerCheck);
  }

  /**
   * Replaces the conversation's metadata (a JSON object of at most 64 KiB; `null` removes it),
   * creating the conversation if needed. Filter on it with `listSessions({ metadata })`.
   * @throws InvalidSessionMetadataError when it is not a plain JSON object within the limit.
   */
  async setMetadata(metadata: SessionMetadata | null): Promise<void> {
    return setMetadata(this.context, this.conversationId, metadata, undefined, (kind) => this.ownerCheck?.write(kind));
  }

  /** A whole read (the ids of the rows it returned items for): what this object, and a run that has not read yet, know. */
  private learn(ids: readonly (number | string)[], runContext: RunContext<unknown> | undefined): void {
    this.known = new KnownHistory(ids);
    // A run keeps its first read: a second one (the runner's, just before compacting) may hold rows
    // others added after the model's input was read, which the compaction does not summarise.
    if (runContext && !this.knownByRun.has(runContext)) this.knownByRun.set(runContext, new KnownHistory(ids));
  }

  /** A write that left exactly these items stored (their plaintext JSON: a clear, a compaction). */
  private learnExact(json: readonly string[], runContext: RunContext<unknown> | undefined): void {
    this.known = KnownHistory.ofWritten(json);
    if (runContext) this.knownByRun.set(runContext, KnownHistory.ofWritten(json));
  }

  /** Items this object wrote, as plaintext JSON (added to what it, and the run, know). */
  private wrote(json: readonly string[], runContext: RunContext<unknown> | undefined): void {
    for (const known of this.knowledge(runContext)) known.add(json);
  }

  /** What this object knows of the rows, and what the run knows: the ones there are. */
  private knowledge(runContext: RunContext<unknown> | undefined): KnownHistory[] {
    const run = runContext && this.knownByRun.get(runContext);
    return [this.known, run].filter((k): k is KnownHistory => k !== undefined);
  }

  /** Before a change whose effect on the rows is not tracked: nothing is known until the next whole read. */
  private forget(): void {
    this.known = undefined;
    this.knownByRun = new WeakMap();
  }

  /** The items of stored rows, skipping (with one warning) rows that give none; `read` gets the ids of the others. */
  private decodeRows(rows: StoredRow[], read?: (number | string)[]): SessionItem[] {
    const items: SessionItem[] = [];
    let skipped: SkippedRowsCounter | undefined;
    for (const row of rows) {
      const item = this.open(row.message_data);
      if (item) {
        items.push(item);
        read?.push(row.id);
      } else (skipped ??= new SkippedRowsCounter()).add(row);
    }
    if (skipped) this.warnSkipped(skipped.result);
    return items;
  }

  /** One warning per call, however many corrupt rows it passed over. */
  private warnSkipped(skipped: SkippedRows): void {
    if (skipped.count === 0) return;
    const ids =
      skipped.count === 1 ? `id=${skipped.newestId}` : `ids between ${skipped.oldestId} and ${skipped.newestId}`;
    this.context.logger.warn(
      `Skipped ${skipped.count} corrupt row${skipped.count === 1 ? '' : 's'} (${ids}) of conversation ${JSON.stringify(this.conversationId)}: message_data is not a JSON object${this.context.codec.sealing ? ', or an envelope no configured key opens' : ''}.`,
    );
  }
}

/** Most rows one read fetches while passing over corrupt rows. */
const READ_BATCH_MAX = 1000;

/** Counts corrupt rows met in any order, keeping the range of their ids. */
class SkippedRowsCounter {
  readonly result: SkippedRows = { count: 0 };
  add(row: StoredRow): void {
    const r = this.result;
    if (r.count === 0 || Number(row.id) > Number(r.newestId)) r.newestId = row.id;
    if (r.count === 0 || Number(row.id) < Number(r.oldestId)) r.oldestId = row.id;
    r.count++;
  }
}
