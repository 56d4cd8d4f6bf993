import type { Logger } from '@nestjs/common';
import type { OperationGate } from '../storage/operation-gate';
import type { SearchRowWrite } from '../storage/search/search-statements';
import type { SearchStorage } from '../storage/search/search-storage';
import { indexedTextOf } from './item-text';
import type { ResolvedSearch } from './search-options';

/** What a write may have done to a conversation's rows. @internal */
export type WriteEffect = 'added' | 'removed' | 'changed';

/** Rows read per step of a conversation's sync. */
const SYNC_BATCH = 500;

/** A message row as the sync and the reindex read it. @internal */
export interface RowToIndex {
  id: number | string;
  session_id?: string;
  data: string;
  data_length: number | string;
}

/**
 * Keeps the search table in step with the messages table, one conversation at a time: after each
 * write through this module (`IndexingStore` calls `touched`), a sync of that conversation runs in
 * the background (coalesced: one at a time per conversation, once more if written meanwhile), writing
 * entries for rows that have none or a stale one and removing entries whose row is gone or changed.
 * Searches of this process wait for the syncs already scheduled (`settled`), so they see this
 * process's writes; a removed row is never returned at any time, because every hit is joined back to
 * its live row. Rows written by others (Python) are indexed by `reindex`. A failed sync is logged and
 * left to the next write or `reindex` (the write itself has succeeded).
 * @internal
 */
export class SearchIndex {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Map<string, WriteEffect>();
  /** Rows rewritten in place, per conversation: their entries are dropped before the next sync. */
  private readonly rewritten = new Map<string, Set<string>>();
  private gate?: OperationGate;

  constructor(
    readonly storage: SearchStorage,
    readonly options: ResolvedSearch,
    private readonly logger: Logger,
  ) {}

  /** Counts the background syncs as operations in flight (shutdown waits for them). */
  useGate(gate: OperationGate): void {
    this.gate = gate;
  }

  /**
   * Schedules a sync of `conversationId` after a write that `effect`s its rows; `rewrittenIds`: rows
   * whose text was replaced in place (their entry may not look stale by its byte length).
   */
  touched(conversationId: string, effect: WriteEffect, rewrittenIds: readonly string[] = []): void {
    if (this.gate?.isClosing) return;
    if (rewrittenIds.length > 0) {
      const ids = this.rewritten.get(conversationId) ?? new Set<string>();
      for (const id of rewrittenIds) ids.add(id);
      this.rewritten.set(conversationId, ids);
    }
    if (this.running.has(conversationId)) {
      const pending = this.again.get(conversationId);
      this.again.set(conversationId, pending && pending !== effect ? 'changed' : effect);
      return;
    }
    const run = this.runSync(conversationId, effect).finally(() => {
      this.running.delete(conversationId);
      const next = this.again.get(conversationId);
      if (next) {
        this.again.delete(conversationId);
        this.touched(conversationId, next);
      }
    });
    this.running.set(conversationId, run);
  }

  /** Resolves once every sync scheduled so far (and the reruns they scheduled) has finished. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  private async runSync(conversationId: string, effect: WriteEffect): Promise<void> {
    try {
      const work = () => this.sync(conversationId, effect);
      await (this.gate ? this.gate.guard('search index', work) : work());
    } catch (err) {
      this.logger.warn(
        `search: indexing conversation ${JSON.stringify(conversationId)} failed (${(err as Error).message}); ` +
          'its newest items may be missing from search results until the next write or SessionMemoryService.reindex().',
      );
    }
  }

  /** Brings one conversation's entries in step with its rows. */
  async sync(conversationId: string, effect: WriteEffect): Promise<void> {
    const { statements, query } = this.storage;
    const rewritten = this.rewritten.get(conversationId);
    if (rewritten) {
      this.rewritten.delete(conversationId);
      const del = statements.deleteItems(conversationId, [...rewritten]);
      await query(del.sql, del.params);
    }
    if (effect !== 'added') {
      const del = statements.deleteStale(conversationId);
      await query(del.sql, del.params);
    }
    if (effect === 'removed' || this.options.sealed) return;
    for (;;) {
      const read = statements.missingRows(conversationId, SYNC_BATCH);
      const rows = await query<RowToIndex>(read.sql, read.params);
      await this.write(rows.map((r) => this.entryOf(conversationId, r)));
      if (rows.length < SYNC_BATCH) return;
    }
  }

  /** The entry of one row: its text, or an empty entry (known, nothing to find) for a row nothing of which is indexed. */
  entryOf(sessionId: string, row: RowToIndex): SearchRowWrite {
    const text = indexedTextOf(String(row.data), this.options.include);
    return {
      sessionId,
      itemId: String(row.id),
      role: text?.role ?? '',
      body: text?.body ?? '',
      dataLength: Number(row.data_length),
    };
  }

  /** Writes entries (inserted, or replacing stale ones). */
  async write(rows: SearchRowWrite[]): Promise<void> {
    if (rows.length === 0) return;
    for (const statement of this.storage.statements.upsert(rows))
      await this.storage.query(statement.sql, statement.params);
  }
}
