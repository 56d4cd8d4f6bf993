import type { Logger } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { ChangeHub } from '../changes/change-hub';
import type { ConversationChange } from '../changes/conversation-change';
import { PostgresChangeRelay } from '../changes/postgres-change-relay';
import {
  HistoryOperationConflictError,
  HistorySuffixMismatchError,
  InvalidManagementOptionsError,
  SessionMemoryConfigurationError,
} from '../exceptions';
import { HistoryTransactionResult, planHistoryTransaction } from '../history/history-transaction';
import type { SessionItem } from '../interfaces';
import type { OperationGate } from '../storage/operation-gate';
import type { PostgresStoreExtensions } from '../storage/dialects/postgres.extensions';
import type { ResolvedTables, SessionStoreDialect, StoredRow } from '../storage/session-store';
import type { ExtensionTables, ListedSessionRow, SessionListQuery, SessionStoreExtensions } from '../storage/store-extensions';
import type { ItemLimits } from '../validation';
import { Duration, toMilliseconds } from './duration';
import type { ListSessionsOptions, SessionPage, SessionSummary } from './list-sessions.options';
import { SessionMetadata, decodeMetadata, encodeMetadata, metadataConditions } from './session-metadata';

/** Options of `purgeExpired()`. */
export interface PurgeExpiredOptions {
  /** Delete conversations not written for longer than this (ms, or a duration string like `'30d'`). */
  idleFor: Duration;
  /** Conversations deleted per transaction. Default 500. */
  batchSize?: number;
  /** Stop after this many batches (a bound on one run's work). Default: until none is left. */
  maxBatches?: number;
}

/** Resolved `ttl` option. @internal */
export interface ResolvedTtl {
  idleForMs: number;
  everyMs: number;
  batchSize: number;
}

const DEFAULT_PAGE = 50;

function toSummary(row: ListedSessionRow, withCount: boolean): SessionSummary {
  const summary: SessionSummary = {
    conversationId: row.session_id,
    createdAt: new Date(Math.round(Number(row.created_ms))),
    updatedAt: new Date(Math.round(Number(row.updated_ms))),
  };
  if (withCount) summary.itemCount = Number(row.item_count ?? 0);
  const metadata = decodeMetadata(row.metadata);
  if (metadata) summary.metadata = metadata;
  return summary;
}
const MAX_PAGE = 1000;
const DEFAULT_BATCH = 500;

/**
 * The management features of one module instance: listing, retention, metadata, history
 * transactions and the change stream. Built at startup beside the store; `SessionMemoryService`
 * and `ConversationSession` delegate to it.
 * @internal
 */
export class SessionFeatures {
  /** Which optional tables exist (re-probed when a feature finds one missing). */
  private tables: ExtensionTables = { metadata: false, operations: false };
  readonly changes: ChangeHub;
  private ttlTimer: NodeJS.Timeout | undefined;
  private purging: Promise<unknown> | undefined;

  constructor(
    readonly extensions: SessionStoreExtensions,
    private readonly gate: OperationGate,
    private readonly limits: ItemLimits,
    private readonly logger: Logger,
    dialect: SessionStoreDialect,
    resolvedTables: ResolvedTables,
    options: { notify: boolean; ttl?: ResolvedTtl },
    readNewest: (conversationId: string, count: number) => Promise<SessionItem[]>,
  ) {
    if (options.notify && dialect !== 'postgres') {
      throw new SessionMemoryConfigurationError(
        `SessionMemoryModule: changes.notify needs PostgreSQL (LISTEN/NOTIFY); this store is ${dialect}. Remove the option: changes$() still reports the changes made through this process.`,
      );
    }
    const relay = options.notify ? new PostgresChangeRelay(extensions as PostgresStoreExtensions, resolvedTables, logger) : undefined;
    this.changes = new ChangeHub(logger, relay, readNewest);
    this.ttl = options.ttl;
  }

  private readonly ttl: ResolvedTtl | undefined;

  /** Finds the optional tables; called once at startup (after `createTables`, if enabled). */
  async init(createTables: boolean): Promise<void> {
    if (createTables) await this.extensions.createTables();
    this.tables = await this.extensions.probe();
  }

  /** Starts the `ttl` timer, if configured. */
  start(): void {
    if (!this.ttl || this.ttlTimer) return;
    const { idleForMs, everyMs, batchSize } = this.ttl;
    const tick = () => {
      if (this.purging) return; // the previous run is still going
      this.purging = this.purge({ idleFor: idleForMs, batchSize })
        .then((n) => {
          if (n > 0) this.logger.log(`ttl: deleted ${n} conversation(s) idle for more than ${idleForMs} ms.`);
        })
        .catch((err) => this.logger.warn(`ttl: purging idle conversations failed (${(err as Error).message}); retrying in ${everyMs} ms.`))
        .finally(() => {
          this.purging = undefined;
        });
    };
    this.ttlTimer = setInterval(tick, everyMs);
    this.ttlTimer.unref?.();
    tick();
  }

  /** Stops the timer, completes every change subscription and closes the LISTEN connection. */
  async close(): Promise<void> {
    if (this.ttlTimer) clearInterval(this.ttlTimer);
    this.ttlTimer = undefined;
    await this.changes.close();
    await this.purging;
  }

  // ---- listing -------------------------------------------------------------------------------

  async list(options: ListSessionsOptions = {}): Promise<SessionPage> {
    const query = this.toQuery(options);
    if (query.metadata.length > 0) await this.requireTable('metadata');
    const rows = await this.gate.run('listSessions', () => this.extensions.list({ ...query, limit: query.limit + 1 }, this.tables));
    const page = rows.slice(0, query.limit);
    const sessions = page.map((row) => toSummary(row, query.includeItemCount));
    const last = page[page.length - 1];
    return {
      sessions,
      nextCursor: rows.length > query.limit && last ? encodeCursor(query.order, String(last.time_key), last.session_id) : undefined,
    };
  }

  /** One conversation's summary (with its item count), or `undefined` when it does not exist. */
  async get(conversationId: string): Promise<SessionSummary | undefined> {
    const query: SessionListQuery = { limit: 1, order: 'desc', includeItemCount: true, metadata: [], sessionId: conversationId };
    const [row] = await this.gate.run('getSession', () => this.extensions.list(query, this.tables));
    return row && toSummary(row, true);
  }

  private toQuery(options: ListSessionsOptions): SessionListQuery {
    if (options === null || typeof options !== 'object') throw new InvalidManagementOptionsError('listSessions expects an options object.');
    const limit = options.limit ?? DEFAULT_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new InvalidManagementOptionsError(`listSessions limit must be a whole number from 1 to ${MAX_PAGE}, got ${String(limit)}.`);
    }
    const order = options.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw new InvalidManagementOptionsError(`listSessions order must be 'asc' or 'desc', got ${JSON.stringify(order)}.`);
    const query: SessionListQuery = {
      limit,
      order,
      includeItemCount: options.includeItemCount === true,
      metadata: metadataConditions(options.metadata),
    };
    if (options.cursor !== undefined) query.after = decodeCursor(options.cursor, order);
    if (options.updatedBefore !== undefined) query.updatedBeforeMs = toEpoch(options.updatedBefore, 'updatedBefore');
    if (options.updatedAfter !== undefined) query.updatedAfterMs = toEpoch(options.updatedAfter, 'updatedAfter');
    return query;
  }

  // ---- retention -----------------------------------------------------------------------------

  async purge(options: PurgeExpiredOptions): Promise<number> {
    if (options === null || typeof options !== 'object') throw new InvalidManagementOptionsError('purgeExpired expects { idleFor }.');
    const idleForMs = toMilliseconds(options.idleFor, 'purgeExpired idleFor');
    const batchSize = options.batchSize ?? DEFAULT_BATCH;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new InvalidManagementOptionsError(`purgeExpired batchSize must be a whole number from 1 to 10000, got ${String(batchSize)}.`);
    }
    const maxBatches = options.maxBatches ?? Infinity;
    if (maxBatches !== Infinity && (!Number.isSafeInteger(maxBatches) || maxBatches < 1)) {
      throw new InvalidManagementOptionsError(`purgeExpired maxBatches must be a whole number >= 1, got ${String(maxBatches)}.`);
    }
    let total = 0;
    for (let batch = 0; batch < maxBatches && !this.gate.isClosing; batch++) {
      const ids = await this.gate.run('purgeExpired', () => this.extensions.purgeBatch(idleForMs, batchSize, this.tables));
      total += ids.length;
      for (const conversationId of ids) await this.cleared(conversationId);
      if (ids.length < batchSize) break;
    }
    return total;
  }

  // ---- metadata ------------------------------------------------------------------------------

  async getMetadata(conversationId: string): Promise<SessionMetadata | undefined> {
    await this.requireTable('metadata');
    return decodeMetadata(await this.gate.run('getMetadata', () => this.extensions.readMetadata(conversationId)));
  }

  /** Replaces (or with `null` removes) the metadata, appending `items` (already encoded) in the same transaction. */
  async setMetadata(conversationId: string, metadata: SessionMetadata | null, items: string[] = [], decoded: SessionItem[] = []): Promise<void> {
    const json = metadata === null ? null : encodeMetadata(metadata);
    await this.requireTable('metadata');
    await this.gate.run('setMetadata', () => this.extensions.writeMetadata(conversationId, json, items));
    if (items.length > 0) await this.added(conversationId, decoded);
  }

  // ---- history transactions ------------------------------------------------------------------

  async applyHistoryTransaction(conversationId: string, args: unknown): Promise<HistoryTransactionResult> {
    const plan = planHistoryTransaction(args, this.limits);
    await this.requireTable('operations');
    const outcome = await this.gate.run('applyHistoryTransaction', () => this.extensions.applyHistory(conversationId, plan));
    switch (outcome.status) {
      case 'replayed':
        return 'replayed';
      case 'conflict':
        throw new HistoryOperationConflictError(conversationId, plan.operationId);
      case 'mismatch':
        throw new HistorySuffixMismatchError(conversationId, plan.operationId, plan.replace?.count ?? 0);
    }
    if (this.changes.wants(conversationId)) {
      for (const row of outcome.removed) await this.popped(conversationId, parseItem(row));
      const t = (args as { transaction: { type: string; items?: SessionItem[]; replacement?: SessionItem[] } }).transaction;
      const items = (t.type === 'append_items' ? t.items : t.replacement) ?? [];
      if (items.length > 0) await this.added(conversationId, items.map((i) => JSON.parse(JSON.stringify(i))));
    }
    return 'applied';
  }

  // ---- changes -------------------------------------------------------------------------------

  changes$(conversationId: string): Observable<ConversationChange> {
    return this.changes.observe(conversationId);
  }

  /** Reports appended items (no-op unless someone listens). */
  async added(conversationId: string, items: SessionItem[]): Promise<void> {
    if (!this.changes.wants(conversationId)) return;
    await this.changes.publish({ type: 'added', conversationId, items, count: items.length, origin: 'local' });
  }

  async popped(conversationId: string, item: SessionItem | undefined): Promise<void> {
    if (!this.changes.wants(conversationId)) return;
    await this.changes.publish({ type: 'popped', conversationId, item, origin: 'local' });
  }

  async cleared(conversationId: string): Promise<void> {
    if (!this.changes.wants(conversationId)) return;
    await this.changes.publish({ type: 'cleared', conversationId, origin: 'local' });
  }

  private async requireTable(kind: keyof ExtensionTables): Promise<void> {
    if (this.tables[kind]) return;
    this.tables = await this.extensions.probe(); // perhaps the migration ran since startup
    if (this.tables[kind]) return;
    const what = kind === 'metadata' ? 'conversation metadata' : 'history transactions (applyHistoryTransaction)';
    throw new SessionMemoryConfigurationError(
      `nestjs-session-memory: ${what} need(s) the optional ${kind} table, which does not exist. ` +
        'Set `createTables: true`, or run the migration (see docs/managing-conversations.md, "Tables").',
    );
  }
}

function parseItem(row: StoredRow): SessionItem | undefined {
  try {
    const v = JSON.parse(row.message_data);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function toEpoch(value: unknown, what: string): number {
  const ms = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new InvalidManagementOptionsError(`listSessions ${what} must be a valid Date.`);
  return ms;
}

function encodeCursor(order: 'asc' | 'desc', key: string, id: string): string {
  return Buffer.from(JSON.stringify([order === 'desc' ? 'd' : 'a', key, id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: unknown, order: 'asc' | 'desc'): { key: string; id: string } {
  let parsed: unknown;
  try {
    parsed = typeof cursor === 'string' ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[1] !== 'string' || typeof parsed[2] !== 'string') {
    throw new InvalidManagementOptionsError('listSessions cursor is not one this package produced: pass the nextCursor of the previous page unchanged.');
  }
  if (parsed[0] !== (order === 'desc' ? 'd' : 'a')) {
    throw new InvalidManagementOptionsError(`listSessions cursor was made for order '${parsed[0] === 'd' ? 'desc' : 'asc'}': keep the same order for every page.`);
  }
  return { key: parsed[1], id: parsed[2] };
}

/** Resolves the `ttl` module option. @internal */
export function resolveTtl(ttl: unknown): ResolvedTtl | undefined {
  if (ttl === undefined || ttl === null || ttl === false) return undefined;
  const o = typeof ttl === 'object' ? (ttl as { idleFor?: unknown; every?: unknown; batchSize?: unknown }) : { idleFor: ttl };
  const idleForMs = toMilliseconds(o.idleFor, 'Option ttl.idleFor');
  const everyMs = o.every === undefined ? Math.min(Math.max(Math.round(idleForMs / 10), 60_000), 3_600_000) : toMilliseconds(o.every, 'Option ttl.every');
  const batchSize = o.batchSize === undefined ? DEFAULT_BATCH : Number(o.batchSize);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new InvalidManagementOptionsError(`Option ttl.batchSize must be a whole number from 1 to 10000, got ${String(o.batchSize)}.`);
  }
  return { idleForMs, everyMs, batchSize };
}
