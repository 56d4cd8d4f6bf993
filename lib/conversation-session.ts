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
import { planHistory, runHistoryTransaction } from './history/apply-history-transaction';
import { planHistoryMutations, rewriteForMutations } from './history/history-mutations';
import { itemOf, itemsOf, readItemsPage, readNewestItems, warnSkipped } from './history/history-reader';
import { readWholeHistoryCached } from './history/history-cache'; // ---- history cache
import { RunKnowledge, rowsToKeep } from './history/run-knowledge';
import { assertBranchId } from './branches/branch-input';
import { SessionLines } from './branches/session-lines';
import { StructuredConversation } from './structured-conversation';
import { planMetadataWrite, writeMetadata } from './management/metadata-operations';
import type { SessionItem } from './interfaces';
import { AddItemsOptions, isAddItemsOptions } from './management/add-items.options';
import { OwnerCheck, ownerCheckedRead } from './ownership/owner-check';
import type { SessionMemoryContext } from './session-memory.context';
import { guardConversation } from './storage/conversation-limiter';
import { assertLimit, encodeItems, isRowIdText } from './validation';
// ---- turns and usage
import { learnRead } from './structure/run-usage';

/**
 * The stored history of one conversation, implementing the OpenAI Agents SDK `Session` contract:
 * pass it as `run(agent, input, { session })`. Get one from `SessionMemoryService.session(id)`
 * (no I/O) or inject the current request's with `@InjectConversationSession()` / `@Conversation()`.
 *
 * Items are kept in insertion order (ordered by row id, never by timestamp). A stored row that is not a
 * JSON object is skipped with a warning and does not count towards `limit`.
 */
export class ConversationSession
  extends StructuredConversation
  implements Session, RunContextAwareSession, SessionHistoryTransactionAwareSession, SessionHistoryRewriteAwareSession
{
  /**
   * Agents SDK `RunContextAwareSession`: the runner passes its run's context to every history call,
   * which tells this session which whole read a compaction in that run was computed from.
   */
  readonly acceptsRunContext = true as const;

  /**
   * The rows this object, and each runner run, knows of: a compaction replaces only those, and keeps
   * any other row after it.
   */
  private readonly knowledge = new RunKnowledge();

  /** @internal Use `SessionMemoryService.session(id)`. */
  constructor(
    /** The conversation id (validated). */
    conversationId: string,
    context: SessionMemoryContext,
    /** The caller's ownership check, for a session opened for an owner. */
    ownerCheck?: OwnerCheck,
    /** The branch of a session from `onBranch(id)` (validated). */
    branch?: string,
  ) {
    super(conversationId, context, ownerCheck, new SessionLines(context, conversationId, branch));
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
    const id = this.conversationId;
    const empty = (items: SessionItem[]) => items.length === 0;
    return ownerCheckedRead(this.context, this.ownerCheck, 'getItems', empty, async (filter) => {
      if (limit !== undefined) {
        return this.lines.read(runContext, (line) => readNewestItems(line, id, limit, filter));
      }
      // With the row ids: a compaction computed from this read recognises its rows by them.
      let readIds: (number | string)[] = [];
      const items = await this.lines.read(runContext, (line) => {
        readIds = [];
        return readWholeHistoryCached(line, this.context, id, filter, readIds); // ---- history cache: main only
      });
      this.knowledge.learn(readIds, runContext);
      learnRead(runContext, id, items); // ---- usage: the user messages the run read
      return items;
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
    const empty = (page: { items: SessionItem[]; before?: string }) => page.items.length === 0 && !page.before;
    return ownerCheckedRead(this.context, this.ownerCheck, 'getItemsPage', empty, (filter) =>
      this.lines.read(undefined, (line) => readItemsPage(line, this.conversationId, limit, before, filter)),
    );
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
    if (options !== undefined && isAddItemsOptions(options) && options.metadata !== undefined) {
      // Items and metadata in one transaction (an optional path: plain addItems stays one statement).
      const line = this.lines.contextFor(await this.lines.forWrite());
      const write = await planMetadataWrite(line, this.conversationId, options.metadata, {
        encoded,
        decoded: decoded(),
      });
      if (await this.mayWrite(write)) await writeMetadata(line, write);
      this.knowledge.wrote(encoded, undefined);
      return;
    }
    if (encoded.length === 0) return;
    await this.ownerCheck?.write();
    const { changes } = this.context;
    const branch = await this.lines.append(encoded, runContext, (write) =>
      guardConversation(this.context, 'addItems', this.conversationId, write),
    );
    this.lines.wroteTo(branch, runContext);
    this.knowledge.wrote(encoded, runContext);
    if (runContext) await this.structure.recordRun(items, runContext, branch); // ---- usage: the run's usage, automatically
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
    if (this.ownerCheck && (await this.ownerCheck.write('existing')) === 'absent') return undefined; // nothing to pop, nothing claimed
    const id = this.conversationId;
    const popped = await guardConversation(this.context, 'popItem', id, async () => {
      const outcome = await this.lines.pop(runContext, (line, onlyIfCurrent) =>
        line.items.popNewest(id, itemOf, { ifMainIsCurrent: onlyIfCurrent }),
      );
      if (outcome.unopenable !== undefined) throw new UnreadableItemsError(id, outcome.unopenable);
      warnSkipped(this.context, id, outcome.skipped);
      const { value } = outcome;
      if (outcome.id !== undefined) this.knowledge.removed(outcome.id, () => JSON.stringify(value), runContext);
      return value;
    });
    if (popped && this.context.changes.wants(id)) await this.context.changes.itemPopped(id, popped);
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
    this.knowledge.forget();
    const line = this.lines.contextFor(await this.lines.forWrite(runContext));
    await guardConversation(this.context, 'clearSession', this.conversationId, () =>
      line.items.clearItems(this.conversationId),
    );
    this.knowledge.learnExact([], runContext);
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
    const known = this.knowledge.basis(runContext);
    this.knowledge.forget();
    const id = this.conversationId;
    const line = this.lines.contextFor(await this.lines.forWrite(runContext));
    const { kept } = await guardConversation(this.context, 'replaceHistoryWithCompaction', id, () =>
      line.items.replaceItems(id, encoded, (rows) => rowsToKeep(rows, known)),
    );
    this.knowledge.learnExact([...encoded, ...kept], runContext);
    await this.publishReplaced([...encoded, ...kept]);
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
    this.knowledge.forget();
    const { changes } = this.context;
    const sealed = this.lines.contextFor(await this.lines.forWrite()).items;
    const id = this.conversationId;
    // Matched on plaintext; a row that does not open is left alone.
    const changed = await guardConversation(this.context, 'applyHistoryMutations', id, () =>
      sealed.rewriteItems(id, (rows) => rewriteForMutations(rows, mutations)),
    );
    if (changed && changes.wants(id)) await this.publishReplaced(await sealed.readAllData(id));
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
    const plan = await planHistory(this.context, this.conversationId, args);
    await this.ownerCheck?.write();
    const line = this.lines.contextFor(await this.lines.forWrite(runContext));
    const outcome = await runHistoryTransaction(line, this.conversationId, plan);
    if (outcome.status !== 'applied') return;
    for (const row of outcome.removed) this.knowledge.removed(row.id, row.message_data ?? '', runContext);
    this.knowledge.wrote(outcome.appended, runContext);
  }

  /** A whole-history replacement (plaintext), on the change stream: `cleared`, then `added` with the new history. */
  private async publishReplaced(json: readonly (string | undefined)[]): Promise<void> {
    const { changes } = this.context;
    if (!changes.wants(this.conversationId)) return;
    await changes.conversationCleared(this.conversationId);
    await changes.itemsAdded(this.conversationId, itemsOf(json));
  }

  /**
   * A session bound to `branchId` that does not follow the current-branch pointer: reads and writes
   * act on that branch whatever another tab switches to. No I/O.
   * @throws InvalidBranchOperationError for a malformed id.
   */
  onBranch(branchId: string): ConversationSession {
    assertBranchId(branchId, 'onBranch');
    return new ConversationSession(this.conversationId, this.context, this.ownerCheck, branchId);
  }
}
