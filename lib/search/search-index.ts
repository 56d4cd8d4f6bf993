import type { Logger } from '@nestjs/common';
import type { OperationGate } from '../storage/operation-gate';
import type { SearchRowWrite } from '../storage/search/search-statements';
import type { SearchQuery, SearchStorage } from '../storage/search/search-storage';
import { entryTextOf } from './item-text';
import type { ResolvedSearch } from './search-options';

/** What a write may have done to a conversation's rows. @internal */
export type WriteEffect = 'added' | 'removed' | 'changed';

/** Conversations brought in step per pass, and rows read per pass. */
const CONVERSATIONS_PER_PASS = 64;
const ROWS_PER_PASS = 1000;

/** The first character of a private line's id (docs/conversation-structure.md, "Keeping inherited rows true"). */
const PRIVATE_LINE = '~';

/** A message row as the sync and the reindex read it. @internal */
export interface RowToIndex {
  id: number | string;
  session_id: string;
  data: string;
  data_length: number | string;
}

/** What is pending for one conversation. */
interface Dirty {
  effect: WriteEffect;
  /** Rows rewritten in place: their entries are dropped first (they may not look stale by byte length). */
  rewritten: Set<string>;
}

/**
 * Keeps the search table in step with the messages table: after each write through this module
 * (the index layer calls `touched`), the conversation is marked, and one background worker brings the
 * marked conversations in step, many at a time (one read of the rows that have no entry or a stale one,
 * one multi-row upsert; the removal of entries whose row is gone or changed after removing writes).
 * On Citus every statement names one conversation (routed to its shard). Searches of this process
 * wait for the work already marked (`settled`), so they see this process's writes; a removed row is
 * never returned at any time, because every hit is joined back to its live row. Rows written by others
 * (Python) are indexed by `reindex`, or by the next write of their conversation through this module.
 * A failed pass is logged; its conversations are left to their next write or to `reindex`.
 * @internal
 */
export class SearchIndex {
  private readonly dirty = new Map<string, Dirty>();
  private worker?: Promise<void>;
  private gate?: OperationGate;
  /** Whether the branch tables exist: their rows (of branches other than main) are indexed too. */
  private branches: () => boolean = () => false;

  constructor(
    readonly storage: SearchStorage,
    readonly options: ResolvedSearch,
    private readonly logger: Logger,
  ) {}

  /** Tells the index how to know whether the branch tables exist (the module's optional-tables probe). */
  useBranches(exist: () => boolean): void {
    this.branches = exist;
  }

  /** Counts the background passes as operations in flight (shutdown waits for them). */
  useGate(gate: OperationGate): void {
    this.gate = gate;
  }

  /** Marks `conversationId` after a write that `effect`s its rows (`rewrittenIds`: rows replaced in place). */
  touched(conversationId: string, effect: WriteEffect, rewrittenIds: readonly string[] = []): void {
    if (this.gate?.isClosing) return;
    const found = this.dirty.get(conversationId);
    if (found) {
      if (found.effect !== effect) found.effect = 'changed';
      for (const id of rewrittenIds) found.rewritten.add(id);
    } else {
      this.dirty.set(conversationId, { effect, rewritten: new Set(rewrittenIds) });
    }
    // Started after the current job, so that a burst of writes is handled in one pass.
    this.worker ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.work());
  }

  /** Resolves once every conversation marked so far has been brought in step (or its pass failed). */
  async settled(): Promise<void> {
    while (this.worker) await this.worker;
  }

  private async work(): Promise<void> {
    try {
      while (this.dirty.size > 0 && !this.gate?.isClosing) {
        const batch = [...this.dirty.entries()].slice(0, CONVERSATIONS_PER_PASS);
        for (const [id] of batch) this.dirty.delete(id);
        try {
          const pass = () => this.pass(batch);
          await (this.gate ? this.gate.guard('search index', pass) : pass());
        } catch (err) {
          this.logger.warn(
            `search: indexing ${batch.length} conversation(s) failed (${(err as Error).message}); their newest items ` +
              'may be missing from search results until their next write or SessionMemoryService.reindex().',
          );
        }
      }
    } finally {
      this.worker = undefined;
      if (this.dirty.size > 0 && !this.gate?.isClosing) this.worker = this.work();
    }
  }

  /** One pass over some marked conversations. */
  private pass(batch: [string, Dirty][]): Promise<void> {
    return this.storage.inPass((query) => this.passIn(batch, query));
  }

  private async passIn(batch: [string, Dirty][], query: SearchQuery): Promise<void> {
    const { statements } = this.storage;
    for (const [id, dirty] of batch) {
      if (dirty.rewritten.size > 0) {
        const del = statements.deleteItems(id, [...dirty.rewritten]);
        await query(del.sql, del.params);
      }
      if (dirty.effect !== 'added') {
        const del = statements.deleteStale(id);
        await query(del.sql, del.params);
        if (this.branches()) {
          const stale = statements.deleteStaleBranchRows(id);
          await query(stale.sql, stale.params);
        }
      }
    }
    if (this.options.sealed) return;
    const adding = batch.filter(([, d]) => d.effect !== 'removed').map(([id]) => id);
    const reads =
      adding.length === 0
        ? []
        : statements.pinned
          ? adding.map((id) => statements.missingRows(id, ROWS_PER_PASS))
          : [statements.missingRowsOf(adding, ROWS_PER_PASS)];
    if (this.branches()) {
      // Every write: a removing one may have frozen a branch (its private line's rows are new).
      const all = batch.map(([id]) => id);
      if (statements.pinned) reads.push(...all.map((id) => statements.missingBranchRows([id], ROWS_PER_PASS)));
      else reads.push(statements.missingBranchRows(all, ROWS_PER_PASS));
    }
    for (const read of reads) {
      const rows = await query<RowToIndex>(read.sql, read.params);
      await this.write(
        rows.map((r) => this.entryOf(r.session_id, r)),
        query,
      );
      // More rows than one pass reads: mark those conversations again.
      if (rows.length === ROWS_PER_PASS) for (const r of rows) this.touched(r.session_id, 'added');
    }
  }

  /**
   * The entry of one row: its text and role, or an empty entry (known, nothing to find) for a row
   * nothing of which is indexed. A user message's entry always has the role `user` (its turn is counted
   * from it). The rows of private lines (`~...`, copies made when a branch is frozen) get their role
   * only: their texts are their originals', and their entries serve only to count the turns of the
   * branches inheriting them.
   */
  entryOf(
    sessionId: string,
    row: Pick<RowToIndex, 'id' | 'data' | 'data_length'> & { branch_id?: string },
  ): SearchRowWrite {
    const branchId = row.branch_id ?? 'main';
    const { role, body } = entryTextOf(String(row.data), this.options.include);
    return {
      sessionId,
      branchId,
      itemId: String(row.id),
      role,
      body: branchId.startsWith(PRIVATE_LINE) ? '' : body,
      dataLength: Number(row.data_length),
    };
  }

  /** Writes entries (inserted, or replacing stale ones). */
  async write(rows: SearchRowWrite[], query: SearchQuery = this.storage.query): Promise<void> {
    if (rows.length === 0) return;
    for (const statement of this.storage.statements.upsert(rows)) await query(statement.sql, statement.params);
  }
}
