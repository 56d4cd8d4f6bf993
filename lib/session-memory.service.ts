import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ConversationSession } from './conversation-session';
import type { SessionMemoryContext } from './session-memory.context';
import type { SessionStoreDialect } from './storage/session-store';
import { guardConversation } from './storage/conversation-limiter';
import { assertConversationId, assertOwnerId } from './validation';
import { Observable, concatMap, defer, from } from 'rxjs';
import { OwnerCheck } from './ownership/owner-check';
import { ReencryptOptions, ReencryptResult, reencryptStep } from './encryption/reencrypt';
import { readUsage } from './structure/usage-operations';
import type { UsageQuery, UsageSummary } from './structure/usage.types';
import type { ReindexOptions, ReindexResult, SearchConversationsOptions, SearchPage } from './interfaces';
import { searchConversations } from './search/search-conversations';
import { reindexStep } from './search/reindex';
import type { SessionAccessOptions } from './ownership/session-access.options';
import type { ConversationChange } from './changes/conversation-change';
import { SessionNotFoundError } from './exceptions';
import type { ListSessionsOptions, SessionPage, SessionSummary } from './interfaces';
import { PurgeExpiredOptions, RetentionTimer, purgeExpired } from './management/retention';
import { getSessionSummary, listSessions } from './management/session-listing';
import type { SessionMetadata } from './management/session-metadata';

/**
 * The store of one `SessionMemoryModule` instance (a singleton). Hands out `ConversationSession`
 * objects and manages conversations as a whole.
 *
 * ```ts
 * constructor(private readonly memory: SessionMemoryService) {}
 * const session = this.memory.session(conversationId); // no I/O
 * await run(agent, input, { session });
 * ```
 */
@Injectable()
export class SessionMemoryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: Logger;

  /** @internal Built by `SessionMemoryModule`. */
  constructor(
    private readonly context: SessionMemoryContext,
    private readonly source: DataSource,
    private readonly ownsDataSource: boolean,
    private readonly retention?: RetentionTimer,
  ) {
    this.logger = context.logger;
  }

  /**
   * The session of one conversation. Creating it does no I/O; the conversation exists in the database
   * once items are added. With `{ owner }`, every call of the session checks that this caller may
   * read or write it (see `SessionAccessOptions`); `@Conversation()` does this for you with the
   * module's `owner` option.
   * @throws InvalidConversationIdError when the id is empty, longer than 255 characters, not a string,
   * or contains NUL or a lone surrogate.
   * @throws InvalidOwnerError for an unusable `owner`.
   */
  session(conversationId: string, options: SessionAccessOptions = {}): ConversationSession {
    assertConversationId(conversationId);
    return new ConversationSession(conversationId, this.context, this.ownerCheck(conversationId, options));
  }

  /**
   * Resolves when `owner` may read the conversation (it owns it, or nobody does and the
   * `unownedConversations` rule is `'claim'`); what an `@Sse()` handler awaits before returning
   * `changes$()`, so that a refusal is a 403 and not a broken stream.
   * @throws ConversationAccessDeniedError when it may not.
   * @throws InvalidOwnerError for an unusable `owner`.
   */
  async assertAccess(conversationId: string, owner: string): Promise<void> {
    assertConversationId(conversationId);
    await this.ownerCheck(conversationId, { owner })?.access();
  }

  /**
   * Deletes a conversation (its items, its session row, metadata, operation log and owner).
   * With `{ owner }`, a write like any other: refuses a conversation another caller owns, and one
   * nobody owns when `unownedConversations` is `'deny'`.
   * @returns whether the conversation existed.
   * @throws ConversationAccessDeniedError when `owner` is given and may not write the conversation.
   */
  async deleteSession(conversationId: string, options: SessionAccessOptions = {}): Promise<boolean> {
    assertConversationId(conversationId);
    if ((await this.ownerCheck(conversationId, options)?.write('existing')) === 'absent') return false;
    const existed = await guardConversation(this.context, 'deleteSession', conversationId, () =>
      this.context.store.deleteConversation(conversationId),
    );
    await this.context.changes.conversationCleared(conversationId);
    return existed;
  }

  /**
   * One page of conversations, ordered by last update (most recent first by default), keyset-paginated
   * on (updated_at, session_id): pass `nextCursor` back as `cursor` for the next page. Pages stay
   * consistent while conversations are written: no conversation left alone during the walk is
   * skipped or repeated (one written meanwhile gets a newer `updated_at`: in the default `desc` order
   * it may be missed, in `asc` order it may be listed again).
   *
   * ```ts
   * let cursor: string | undefined;
   * do {
   *   const page = await memory.listSessions({ limit: 100, cursor, metadata: { userId: 'u1' } });
   *   cursor = page.nextCursor;
   * } while (cursor);
   * ```
   * @throws InvalidManagementOptionsError for a bad limit, order, date or cursor.
   * @throws InvalidSessionMetadataError for a bad metadata filter.
   */
  listSessions(options: ListSessionsOptions = {}): Promise<SessionPage> {
    return listSessions(this.context, options);
  }

  /**
   * One conversation's summary: when it was created and last written, its item count and metadata.
   * @throws SessionNotFoundError when no conversation has this id.
   * @throws ConversationAccessDeniedError when `owner` is given and may not read it.
   */
  async getSession(conversationId: string, options: SessionAccessOptions = {}): Promise<SessionSummary> {
    assertConversationId(conversationId);
    const summary = await getSessionSummary(this.context, conversationId, this.ownerCheck(conversationId, options));
    if (!summary) throw new SessionNotFoundError(conversationId);
    return summary;
  }

  /**
   * Deletes the conversations not written for longer than `idleFor` (by the database clock), with
   * their items and metadata, in transactions of `batchSize` conversations. Safe to run from several
   * instances at once (each skips rows the others hold). Call it from a scheduled job, or set `ttl`.
   * @returns how many conversations were deleted.
   */
  purgeExpired(options: PurgeExpiredOptions): Promise<number> {
    return purgeExpired(this.context, options);
  }

  /**
   * The metadata of a conversation, or `undefined` when it has none. Same as
   * `session(id, options).getMetadata()`.
   * @throws ConversationAccessDeniedError when `owner` is given and may not read it.
   * @throws InvalidOwnerError for an unusable `owner`.
   */
  async getMetadata(conversationId: string, options: SessionAccessOptions = {}): Promise<SessionMetadata | undefined> {
    return this.session(conversationId, options).getMetadata();
  }

  /**
   * Replaces the metadata of a conversation (a JSON object of at most 64 KiB), creating the
   * conversation if needed; `null` removes it. Same as `session(id, options).setMetadata(metadata)`.
   * @throws ConversationAccessDeniedError when `owner` is given and may not write it.
   * @throws InvalidOwnerError for an unusable `owner`.
   */
  async setMetadata(
    conversationId: string,
    metadata: SessionMetadata | null,
    options: SessionAccessOptions = {},
  ): Promise<void> {
    return this.session(conversationId, options).setMetadata(metadata);
  }

  /**
   * Administrative: makes `owner` the owner of an existing conversation, replacing any recorded
   * owner; writes nothing else (no item, no metadata, `updated_at` unchanged). For migrating data made
   * before ownership was turned on, or by Python (see the `unownedConversations` option), and for
   * handing a conversation over. Not an owner-scoped call: expose it to administrators only.
   * @throws InvalidConversationIdError for an unusable conversation id.
   * @throws InvalidOwnerError for an unusable `owner` (same rules as a conversation id).
   * @throws SessionNotFoundError when no conversation has this id (nothing is created).
   */
  async assignOwner(conversationId: string, owner: string): Promise<void> {
    assertConversationId(conversationId);
    assertOwnerId(owner);
    await this.context.optionalTables.require('owners');
    const assigned = await guardConversation(this.context, 'assignOwner', conversationId, () =>
      this.context.store.assignOwner(conversationId, owner),
    );
    if (!assigned) throw new SessionNotFoundError(conversationId);
  }

  /**
   * The changes of one conversation from now on (`added`, `popped`, `cleared`), until the application
   * shuts down. Changes made through this process always; with `changes: { notify: true }` on
   * PostgreSQL, also those of other instances (see docs/managing-conversations.md for the limits).
   * Return it from an `@Sse()` handler mapped to `MessageEvent`s.
   */
  changes$(conversationId: string, options: SessionAccessOptions = {}): Observable<ConversationChange> {
    assertConversationId(conversationId);
    const check = this.ownerCheck(conversationId, options);
    const changes = this.context.changes.observe(conversationId);
    if (!check) return changes;
    // Checked on subscription (in an @Sse() handler, await assertAccess() first for a 403 status), and
    // again before each change, against the conversation as it is then: once another caller owns it
    // (claimed it, or created it again after a delete), the stream fails with
    // ConversationAccessDeniedError instead of delivering that caller's items.
    return defer(() => from(check.access())).pipe(
      concatMap(() => changes),
      concatMap(async (change) => {
        await check.access();
        return change;
      }),
    );
  }

  /** The ownership check of a call made for `options.owner`, or undefined for a call made for nobody. */
  private ownerCheck(conversationId: string, options: SessionAccessOptions): OwnerCheck | undefined {
    if (options.owner === undefined) return undefined;
    assertOwnerId(options.owner);
    return new OwnerCheck(this.context, conversationId, options.owner);
  }

  /**
   * One bounded, resumable step of key rotation (the `encryption` option): rewrites, under the first
   * key, the rows of `batchSize` rows (all conversations, id order) that an older key opens, one
   * compare-and-set UPDATE each, never blocking writers. Call it again with `nextCursor` until that
   * is `undefined`; keep the older keys configured until then, so every row stays readable.
   * @throws InvalidManagementOptionsError for bad options, or without the encryption option.
   */
  reencrypt(options: ReencryptOptions = {}): Promise<ReencryptResult> {
    return reencryptStep(this.context, options);
  }

  // ---- search (lib/search, docs/search.md)
  /**
   * Full-text search over the stored conversations (the `search` option), best matches first: words
   * (all must match), `"exact phrase"`, `-excluded`, `prefix*`. With `owner`, only that caller's
   * conversations (checked in the search statement itself). A removed item is never returned.
   * @example
   *   const { hits, nextCursor } = await memory.searchConversations({ query: 'invoice "march 2026"', owner: userId });
   * @throws InvalidManagementOptionsError for a bad query or options; SessionMemoryConfigurationError when search is off.
   */
  searchConversations(options: SearchConversationsOptions): Promise<SearchPage> {
    return searchConversations(this.context, options);
  }

  /**
   * One bounded, resumable step indexing rows the module did not write itself (Python's
   * SQLAlchemySession, rows from before search was on) and removing stale index entries. Call it again
   * with `nextCursor` until that is `undefined`. Never blocks writers.
   * @throws InvalidManagementOptionsError for bad options; SessionMemoryConfigurationError when search is off.
   */
  reindex(options: ReindexOptions = {}): Promise<ReindexResult> {
    return reindexStep(this.context, options);
  }

  // ---- usage (lib/structure/usage-operations.ts, docs/conversation-structure.md "Usage")
  /**
   * Token usage totals across conversations, recorded automatically per run: of one `owner` (the
   * conversation's owner when the run was recorded) and within `[since, until)` when given, read from
   * the usage table's `(owner, created_at)` index, never from the items.
   * @example
   *   const month = await memory.getUsage({ owner: userId, since: new Date('2026-12-01') });
   * @throws InvalidOwnerError / InvalidManagementOptionsError for a bad query (before any I/O).
   */
  getUsage(query: UsageQuery = {}): Promise<UsageSummary> {
    return readUsage(this.context, query);
  }

  /**
   * The TypeORM DataSource the store uses: the one the module built from `url`, or the reused one.
   * Useful for migrations and for inspecting the tables.
   */
  get dataSource(): DataSource {
    return this.source;
  }

  /** Which SQL dialect this store speaks. */
  get dialect(): SessionStoreDialect {
    return this.context.store.dialect;
  }

  /**
   * Checks that the database answers. Resolves when it does.
   * @param options.signal abort it when you stop waiting for the answer (a health check's own time
   * limit): the ping is then no longer waited for at shutdown, and on PostgreSQL its pooled connection
   * is closed at once instead of waiting for a late answer.
   * @throws SessionStorageUnavailableError when it does not.
   */
  async ping(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    await this.context.gate.guard('ping', () => this.context.store.ping(signal), signal);
  }

  /** Nest lifecycle hook: starts the `ttl` timer, if configured. */
  onApplicationBootstrap(): void {
    this.retention?.start();
  }

  /**
   * Nest lifecycle hook, the one shutdown path: stops the `ttl` timer, completes the change streams (closing the
   * LISTEN connection), indexes the writes search has marked (5 s at most), refuses new operations and waits
   * for those in flight, then destroys the DataSource the module built (never a reused one).
   */
  async onApplicationShutdown(): Promise<void> {
    await this.retention?.stop();
    await this.context.changes.close();
    await this.context.search?.flush();
    await this.context.gate.drain();
    if (this.ownsDataSource && this.source.isInitialized) {
      await this.source.destroy();
      this.logger.log('Closed the session-memory DataSource.');
    }
  }
}
