import type { Logger } from '@nestjs/common';
import type { OperationGate } from '../storage/operation-gate';
import { MAIN_BRANCH, MissingRowLists, SearchRowWrite, SearchSql } from '../storage/search/search-statements';
import type { SearchStorage } from '../storage/search/search-storage';
import { AppendedRows, appendedEntries, searchEntryOf } from './search-entry';
import type { ResolvedSearch } from './search-options';
import { AppendsSeen, Watermarks } from './watermarks';

/** What a write may have done to a conversation's rows. @internal */
export type WriteEffect = 'added' | 'removed' | 'changed';

/** Conversations brought in step per pass, and rows read per pass. */
const CONVERSATIONS_PER_PASS = 64;
const ROWS_PER_PASS = 1000;
/** Most appended texts waiting for passes in one process (beyond, the passes read the rows). */
const MAX_QUEUED_ROWS = 10 * ROWS_PER_PASS;

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
  /** Every row appended since the last pass, when each append reported its rows (else the rows are read). */
  appended?: AppendedRows[];
}

/** Rows of appended texts waiting for a pass in `dirty`. */
const queued = (dirty: Dirty): number => dirty.appended?.reduce((n, rows) => n + rows.ids.length, 0) ?? 0;

/**
 * Keeps the search table in step with the messages table: after each write through this module
 * (the index layer calls `touched`), the conversation is marked, and one background worker brings the
 * marked conversations in step, many at a time (one read of the rows that have no entry or a stale one,
 * one multi-row upsert; the removal of entries whose row is gone or changed after removing writes).
 * On Citus every statement names one conversation (routed to its shard). Searches of this process
 * wait for the work already marked (`settled`), so they see this process's writes; a removed row is
 * never returned at any time, because every hit is joined back to its live row. Rows written by others
 * (Python) are indexed by `reindex`, or by the next pass that reads their conversation whole (after
 * appends a pass reads only the rows after this process's watermark: search/watermarks.ts).
 * A failed pass is logged; its conversations are left to their next write or to `reindex`.
 * @internal
 */
export class SearchIndex {
  private readonly dirty = new Map<string, Dirty>();
  /** Rows of appended texts in `dirty`. */
  private queuedRows = 0;
  private worker?: Promise<void>;
  private gate?: OperationGate;
  /** Whether the branch tables exist: their rows (of branches other than main) are indexed too. */
  private branches: () => boolean = () => false;

  /** Where passes after appends may read only the rows after those already indexed (not on SQLite). */
  readonly watermarks?: Watermarks;

  constructor(
    readonly storage: SearchStorage,
    readonly options: ResolvedSearch,
    private readonly logger: Logger,
  ) {
    if (storage.name !== 'sqlite') this.watermarks = new Watermarks();
  }

  /** Tells the index how to know whether the branch tables exist (the module's optional-tables probe). */
  useBranches(exist: () => boolean): void {
    this.branches = exist;
  }

  /** Counts the background passes as operations in flight (shutdown waits for them). */
  useGate(gate: OperationGate): void {
    this.gate = gate;
  }

  /** Whether appends should report their rows' ids (`touched`'s `appended`): not on SQLite, nor sealed. */
  get takesRowIds(): boolean {
    return this.watermarks !== undefined && !this.options.sealed;
  }

  /**
   * Marks `conversationId` after a write that `effect`s its rows (`rewrittenIds`: rows replaced in place;
   * `appended`: the rows an append wrote, ids included, which the pass then indexes without reading them).
   */
  touched(
    conversationId: string,
    effect: WriteEffect,
    rewrittenIds: readonly string[] = [],
    appended?: AppendedRows,
  ): void {
    if (this.gate?.isClosing) return;
    const found = this.dirty.get(conversationId);
    const dirty: Dirty = found ?? { effect, rewritten: new Set<string>(), appended: [] };
    if (dirty.effect !== effect) dirty.effect = 'changed';
    for (const id of rewrittenIds) dirty.rewritten.add(id);
    // The appended texts are kept for the pass while every write since the last pass was an append that
    // reported them, within one pass's rows per conversation and a bound for the process; else the
    // pass reads the rows (a bounded read, which marks the rest again).
    const rows = appended?.ids.length ?? 0;
    const fits = queued(dirty) + rows <= ROWS_PER_PASS && this.queuedRows + rows <= MAX_QUEUED_ROWS;
    if (appended && dirty.effect === 'added' && dirty.appended && fits) {
      dirty.appended.push(appended);
      this.queuedRows += rows;
    } else if (dirty.appended) {
      this.queuedRows -= queued(dirty);
      dirty.appended = undefined;
    }
    if (!found) this.dirty.set(conversationId, dirty);
    // Started after the current job, so that a burst of writes is handled in one pass.
    this.worker ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.work());
  }

  /** Resolves once every conversation marked so far has been brought in step (or its pass failed). */
  async settled(): Promise<void> {
    this.hurry++;
    try {
      while (this.worker) {
        this.wake?.();
        await this.worker;
      }
    } finally {
      this.hurry--;
    }
  }

  /** Shutdown: runs the passes of the writes already marked, without pausing, for at most `ms` (the rest: `reindex`). */
  async flush(ms = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([this.settled(), late]);
    clearTimeout(timer);
  }

  /** Callers of `settled` waiting: passes are not spaced out meanwhile. */
  private hurry = 0;
  /** Ends the current pause between passes. */
  private wake?: () => void;

  /**
   * Waits up to `ms` before the next pass (not while a search of this process waits: `settled` ends the
   * pause). The timer does not keep the process alive, and shutdown does not wait for it (the gate
   * counts passes, not pauses; the pass after a pause is skipped once the gate is closing).
   */
  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.hurry > 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async work(): Promise<void> {
    try {
      let started = -Infinity; // (performance.now() counts from the start of the process)
      // Passes start at least `indexIntervalMs` apart while writes keep coming: the writes of that time
      // are brought in step together (the database's cost is per pass). The first pass starts at once.
      while (this.dirty.size > 0 && !this.gate?.isClosing) {
        await this.pause(started + this.options.indexIntervalMs - performance.now());
        if (this.gate?.isClosing) break;
        started = performance.now();
        const batch = this.nextBatch();
        for (const [id, dirty] of batch) {
          this.dirty.delete(id);
          this.queuedRows -= queued(dirty);
        }
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

  /** The conversations of the next pass: at most 64, and at most one pass's rows of appended texts (at least one conversation). */
  private nextBatch(): [string, Dirty][] {
    const batch: [string, Dirty][] = [];
    let rows = 0;
    for (const entry of this.dirty) {
      rows += queued(entry[1]);
      if (batch.length === CONVERSATIONS_PER_PASS || (batch.length > 0 && rows > ROWS_PER_PASS)) break;
      batch.push(entry);
    }
    return batch;
  }

  /**
   * One pass over some marked conversations: the entries of rows rewritten in place dropped; one read of
   * the rows lacking an up-to-date entry (main's of the conversations written, and with branch tables the
   * branch rows of all of them: a removing write may have frozen a branch, whose private line is new);
   * then every write of the pass as one batch (the upserts, and after removing writes the removal of
   * entries whose row is gone or changed). On Citus each read names one conversation.
   */
  private async pass(batch: [string, Dirty][]): Promise<void> {
    const { statements, query } = this.storage;
    const rewritten = batch.filter(([, d]) => d.rewritten.size > 0);
    await this.storage.writeBatch(rewritten.map(([id, d]) => statements.deleteItems(id, [...d.rewritten])));
    const writes: SearchSql[] = [];
    const seen: AppendsSeen[] = [];
    const largest = new Map<string, bigint>();
    const full = new Set<string>();
    if (!this.options.sealed) {
      // Conversations only appended to, by appends that reported their rows, and read whole within the
      // minute (rows of other writers are found by such reads): indexed from what the appends wrote. The
      // others' rows are read.
      const toRead: [string, Dirty][] = [];
      const entries: SearchRowWrite[] = [];
      for (const [id, dirty] of batch) {
        if (dirty.effect === 'added' && dirty.appended && this.watermarks?.readWholeRecently(id))
          for (const rows of dirty.appended) entries.push(...appendedEntries(this.options.include, id, rows));
        else toRead.push([id, dirty]);
      }
      writes.push(...statements.upsert(entries));
      const only = (effect: WriteEffect) => toRead.filter(([, d]) => d.effect === effect).map(([id]) => id);
      const lists: MissingRowLists = {
        added: [],
        after: [],
        changed: only('changed'),
        branches: this.branches() ? toRead.map(([id]) => id) : [],
      };
      for (const id of only('added')) {
        const mark = this.watermarks?.of(id);
        if (mark === undefined) lists.added.push(id);
        else lists.after?.push([id, mark]);
      }
      for (const id of [...lists.added, ...lists.changed]) full.add(id);
      // Each read with the conversations it covers.
      const reads = statements.pinned
        ? toRead.map(([id]) => {
            const one = <T>(list: T[] = []) => list.filter((x) => (Array.isArray(x) ? x[0] : x) === id);
            const lists1 = { added: one(lists.added), after: one(lists.after), changed: one(lists.changed) };
            return {
              ids: [id],
              read: statements.missingRowsIn({ ...lists1, branches: one(lists.branches) }, ROWS_PER_PASS),
            };
          })
        : [{ ids: toRead.map(([id]) => id), read: statements.missingRowsIn(lists, ROWS_PER_PASS) }];
      seen.push(...(this.watermarks?.before(only('added').concat(lists.changed)) ?? []));
      try {
        for (const { ids, read } of reads) {
          if (!read) continue;
          const rows = await query<RowToIndex & { branch_id: string }>(read.sql, read.params);
          const entries = rows.map((r) => searchEntryOf(this.options.include, r.session_id, r));
          writes.push(...this.storage.statements.upsert(entries));
          // More rows than one pass reads (main's, or the branches'): mark every conversation the read
          // covered again (the rows returned stop at the limit: some conversations may have none).
          const main = rows.filter((r) => r.branch_id === MAIN_BRANCH);
          for (const r of main) {
            const id = BigInt(r.id);
            if ((largest.get(r.session_id) ?? -1n) < id) largest.set(r.session_id, id);
          }
          for (const part of [main, rows.filter((r) => r.branch_id !== MAIN_BRANCH)]) {
            if (part.length < ROWS_PER_PASS) continue;
            for (const id of ids) this.touched(id, lists.changed.includes(id) ? 'changed' : 'added');
          }
        }
      } catch (err) {
        this.watermarks?.after(seen, largest, full, false);
        throw err;
      }
    }
    for (const [id, dirty] of batch) {
      if (dirty.effect === 'added') continue;
      writes.push(statements.deleteStale(id));
      if (this.branches()) writes.push(statements.deleteStaleBranchRows(id));
    }
    try {
      await this.storage.writeBatch(writes);
    } catch (err) {
      this.watermarks?.after(seen, largest, full, false);
      throw err;
    }
    this.watermarks?.after(seen, largest, full, true);
  }

  /** Writes entries (inserted, or replacing stale ones), as one batch. */
  async write(rows: SearchRowWrite[]): Promise<void> {
    await this.storage.writeBatch(this.storage.statements.upsert(rows));
  }
}
