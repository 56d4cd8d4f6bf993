import type { Logger } from '@nestjs/common';
import { Observable, Subscriber } from 'rxjs';
import type { SessionItem } from '../interfaces';
import type { PlainRow } from '../encryption/sealing-store';
import type { ConversationChange } from './conversation-change';
import { RateLimitedWarning } from './rate-limited-warning';

/**
 * A remote change as a notification hints at it: no items, only how many (already checked: a
 * valid conversation id, a whole count within the module's `maxItemsPerCall`). @internal
 */
export interface RemoteChange {
  conversationId: string;
  type: ConversationChange['type'];
  count: number;
}

/** Carries changes between instances (PostgreSQL LISTEN/NOTIFY). @internal */
export interface ChangeRelay {
  /** Sends a change to the other instances. */
  publish(change: RemoteChange): Promise<void>;
  /** A subscriber needs the listening connection: opens it unless it is open (idempotent); remote changes go to `onRemote`. */
  start(onRemote: (change: RemoteChange) => void): void;
  /** No subscriber is left: the connection may be closed (after a short delay, unless `start` comes first). */
  release(): void;
  /** Shutdown: closes the connection; resolves when it is closed. */
  stop(): Promise<void>;
}

/**
 * Reads the newest `limit` rows of a conversation (those with an id below `beforeId` when given),
 * newest first, with their ids: how the hub checks what a remote notification claims. @internal
 */
export type NewestRowsReader = (conversationId: string, limit: number, beforeId?: string) => Promise<PlainRow[]>;

/** How many of a conversation's newest row ids the hub remembers, to confirm remote pops. */
const TAIL = 16;
/** The first read for a remote `added` (then 4 times more per read, up to the hinted count). */
const FIRST_CHUNK = 4;
/** Local changes waiting for a check in progress; beyond this the hub reads the conversation afresh. */
const MAX_LOCAL_OPS = 64;

/** What the hub knows of a watched conversation's rows (ids of the messages table). */
interface View {
  /** Ids of its newest rows, newest first (at most TAIL), all at or below `watermark`. */
  tail: bigint[];
  /** True when `tail` holds every row at or below `watermark`. */
  complete: boolean;
  /** The highest row id accounted for: rows above it are new. */
  watermark: bigint;
  /** Items appended through this process since the hub last read the conversation (ids not known yet). */
  localAdded: number;
}

type LocalOp = { type: 'added'; count: number } | { type: 'popped' } | { type: 'cleared' };

/** What arrived for a conversation since its last check; O(1) whatever arrives. */
interface Pending {
  added: number;
  popped: number;
  cleared: boolean;
  /** Local changes made while a check of the conversation was in progress, in order. */
  local: LocalOp[];
  /** Too many local changes to keep: read the conversation afresh. */
  reread: boolean;
}

/** One conversation with subscribers in this process. */
interface Watch {
  readonly subscribers: Set<Subscriber<ConversationChange>>;
  /** Undefined until the first read (and again after a failed one). */
  view?: View;
  pending: Pending;
  /** A check is in progress. */
  busy: boolean;
}

const noPending = (): Pending => ({ added: 0, popped: 0, cleared: false, local: [], reread: false });
const hasRemote = (p: Pending) => p.added > 0 || p.popped > 0 || p.cleared;

/**
 * Fans changes out to the subscribers of each conversation, in this process, and through a relay to
 * other instances. With no relay and no subscriber of a conversation, `wants()` is false and writers
 * skip all of it (one Map lookup).
 *
 * Remote notifications are hints, never facts (any database role may NOTIFY the channel). The hub
 * keeps, per watched conversation, the ids of its newest rows and the highest id it has accounted
 * for, and delivers a remote change only as far as a read of the conversation confirms it: `added`
 * carries the rows above that id (at most the hinted count), `popped` one event per remembered row
 * that is gone (at most the hinted count), `cleared` only when none of the rows at or below that id
 * remains and the hub did not already know the conversation empty. Hints are coalesced per
 * conversation (counts summed and capped, flags set) and checked one conversation at a time, so a
 * flood costs memory per watched conversation, not per notification, and reads in proportion to
 * what the database holds, not to the counts it claims.
 * @internal
 */
export class ChangeHub {
  private readonly watches = new Map<string, Watch>();
  /** Conversations with something to check, in the order they became so. */
  private readonly dirty = new Set<string>();
  private working = false;
  private worked: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly readFailures: RateLimitedWarning;

  constructor(
    private readonly logger: Logger,
    private readonly relay: ChangeRelay | undefined,
    /** Reads rows with their ids (for remote changes). */
    private readonly readNewest: NewestRowsReader,
    /** A row's plaintext as the item it holds, or undefined for a row that cannot be read (skipped). */
    private readonly decode: (conversationId: string, json: string | undefined) => SessionItem | undefined,
    /** The largest count sent or accepted in a notification (the module's `limits.maxItemsPerCall`). */
    private readonly maxCount: number,
  ) {
    this.readFailures = new RateLimitedWarning(
      logger,
      (detail) =>
        `Could not check the changes other instances reported (${detail}); they were not delivered to changes$() subscribers, ` +
        'who should re-read with getItems(). Further failures are counted and reported at most once a minute.',
      (count, detail) =>
        `Could not check the changes other instances reported, ${count} more times in the last minute (the last: ${detail}).`,
    );
  }

  /** True when a write to `conversationId` must be reported. */
  wants(conversationId: string): boolean {
    return this.relay !== undefined || this.watches.has(conversationId);
  }

  /** The changes of one conversation, from now on, until the module shuts down. */
  observe(conversationId: string): Observable<ConversationChange> {
    return new Observable<ConversationChange>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      let watch = this.watches.get(conversationId);
      if (!watch) {
        watch = { subscribers: new Set(), pending: noPending(), busy: false };
        this.watches.set(conversationId, watch);
        // What the conversation holds now: remote hints are checked against it.
        if (this.relay) this.schedule(conversationId);
      }
      watch.subscribers.add(subscriber);
      this.relay?.start((change) => this.onRemote(change));
      const mine = watch;
      return () => {
        mine.subscribers.delete(subscriber);
        if (mine.subscribers.size > 0 || this.watches.get(conversationId) !== mine) return;
        this.watches.delete(conversationId);
        if (this.watches.size === 0 && !this.closed) this.relay?.release();
      };
    });
  }

  /** Reports a change made in this process: to local subscribers, then to other instances. */
  async publish(change: ConversationChange): Promise<void> {
    this.deliver(change);
    if (!this.relay || this.closed) return;
    this.noteLocal(change);
    const count = change.type === 'added' ? Math.min(change.count, this.maxCount) : change.type === 'popped' ? 1 : 0;
    try {
      await this.relay.publish({ conversationId: change.conversationId, type: change.type, count });
    } catch (err) {
      // The write itself succeeded: a lost notification must not fail it.
      this.logger.warn(
        `Could not notify other instances of a change to ${JSON.stringify(change.conversationId)}: ${(err as Error).message}`,
      );
    }
  }

  /** Reports items appended in this process (nothing when no one listens or there are none). */
  async itemsAdded(conversationId: string, items: SessionItem[]): Promise<void> {
    if (items.length === 0 || !this.wants(conversationId)) return;
    await this.publish({ type: 'added', conversationId, items, count: items.length, origin: 'local' });
  }

  /** Reports an item removed in this process (`undefined` when it could not be read). */
  async itemPopped(conversationId: string, item: SessionItem | undefined): Promise<void> {
    if (!this.wants(conversationId)) return;
    await this.publish({ type: 'popped', conversationId, item, origin: 'local' });
  }

  /** Reports a conversation cleared or deleted in this process. */
  async conversationCleared(conversationId: string): Promise<void> {
    if (!this.wants(conversationId)) return;
    await this.publish({ type: 'cleared', conversationId, origin: 'local' });
  }

  /** Completes every subscription and closes the relay's connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const watch of this.watches.values()) for (const s of [...watch.subscribers]) s.complete();
    this.watches.clear();
    this.dirty.clear();
    this.readFailures.close();
    await this.relay?.stop();
    await this.worked;
  }

  private deliver(change: ConversationChange): void {
    const watch = this.watches.get(change.conversationId);
    if (!watch) return;
    for (const s of [...watch.subscribers]) s.next(change);
  }

  // ---- remote changes --------------------------------------------------------------------------

  /** A checked notification: only noted (O(1)); the worker checks it against the database. */
  private onRemote(change: RemoteChange): void {
    const watch = this.watches.get(change.conversationId);
    if (!watch || this.closed) return;
    const p = watch.pending;
    if (change.type === 'added') p.added = Math.min(this.maxCount, p.added + change.count);
    else if (change.type === 'popped') p.popped = Math.min(this.maxCount, p.popped + change.count);
    else p.cleared = true;
    this.schedule(change.conversationId);
  }

  /** A change made through this process, to keep the view of a watched conversation right. */
  private noteLocal(change: ConversationChange): void {
    const watch = this.watches.get(change.conversationId);
    if (!watch) return;
    const op: LocalOp = change.type === 'added' ? { type: 'added', count: change.count } : { type: change.type };
    const p = watch.pending;
    if (watch.view && !watch.busy && p.local.length === 0 && !p.reread) {
      applyLocal(watch.view, op);
      if (watch.view.localAdded > 0) this.schedule(change.conversationId); // learn the new rows' ids
      return;
    }
    // A check is in progress (or the first read is due): apply it after, in order.
    if (p.local.length < MAX_LOCAL_OPS) p.local.push(op);
    else p.reread = true;
    this.schedule(change.conversationId);
  }

  private schedule(conversationId: string): void {
    if (this.closed) return;
    this.dirty.add(conversationId);
    if (this.working) return;
    this.working = true;
    this.worked = this.work();
  }

  /** One conversation at a time, in the order they became dirty. */
  private async work(): Promise<void> {
    try {
      while (!this.closed) {
        const next = this.dirty.values().next();
        if (next.done) break;
        const conversationId = next.value;
        this.dirty.delete(conversationId);
        const watch = this.watches.get(conversationId);
        if (!watch) continue;
        const pending = watch.pending;
        watch.pending = noPending();
        watch.busy = true;
        try {
          await this.check(conversationId, watch, pending);
        } catch (err) {
          watch.view = undefined; // not known any more: read afresh next time
          if (!this.closed) this.readFailures.note(`${JSON.stringify(conversationId)}: ${(err as Error).message}`);
        } finally {
          watch.busy = false;
        }
      }
    } finally {
      this.working = false;
    }
  }

  private live(conversationId: string, watch: Watch): boolean {
    return !this.closed && this.watches.get(conversationId) === watch;
  }

  /** Brings the view up to date with local changes, then confirms the remote hints against the database. */
  private async check(conversationId: string, watch: Watch, p: Pending): Promise<void> {
    if (!watch.view || p.reread) {
      watch.view = await this.firstRead(conversationId);
    } else {
      for (const op of p.local) applyLocal(watch.view, op);
    }
    const view = watch.view;
    if (view.localAdded > 0) {
      // Rows appended here: take their ids in, so that no hint reports them again as remote.
      const limit = Math.min(TAIL, view.localAdded);
      const rows = await this.readNewest(conversationId, limit);
      const fresh = ids(rows).filter((id) => id > view.watermark);
      view.localAdded = 0;
      takeNewRows(view, fresh, fresh.length === limit);
    }
    if (!hasRemote(p) || !this.live(conversationId, watch)) return;

    if (p.cleared || p.popped > 0) {
      const [below] = await this.readNewest(conversationId, 1, (view.watermark + 1n).toString());
      if (!this.live(conversationId, watch)) return;
      const remaining = below === undefined ? undefined : BigInt(below.id);
      const knownEmpty = view.tail.length === 0 && view.complete;
      if (p.cleared && remaining === undefined && !knownEmpty) {
        // None of the rows it knew is left: emptied, deleted, or its whole history replaced.
        view.tail = [];
        view.complete = true;
        this.deliver({ type: 'cleared', conversationId, origin: 'remote' });
      } else if (p.popped > 0) {
        let gone = 0;
        while (gone < view.tail.length && (remaining === undefined || view.tail[gone] > remaining)) gone++;
        const popped = Math.min(p.popped, gone);
        view.tail.splice(0, popped);
        for (let i = 0; i < popped; i++)
          this.deliver({ type: 'popped', conversationId, item: undefined, origin: 'remote' });
        if (popped > 0 && view.tail.length === 0 && !view.complete && remaining !== undefined) {
          const rows = await this.readNewest(conversationId, TAIL, (view.watermark + 1n).toString());
          view.tail = ids(rows);
          view.complete = rows.length < TAIL;
        }
      }
    }

    if (p.added > 0 && this.live(conversationId, watch)) {
      const { rows, more } = await this.readAbove(conversationId, view.watermark, Math.min(p.added, this.maxCount));
      if (rows.length === 0 || !this.live(conversationId, watch)) return;
      takeNewRows(view, ids(rows), more);
      const items: SessionItem[] = [];
      for (let i = rows.length - 1; i >= 0; i--) {
        const item = this.decode(conversationId, rows[i].message_data);
        if (item) items.push(item);
      }
      if (items.length > 0)
        this.deliver({ type: 'added', conversationId, items, count: items.length, origin: 'remote' });
    }
  }

  private async firstRead(conversationId: string): Promise<View> {
    const rows = await this.readNewest(conversationId, TAIL);
    const tail = ids(rows);
    return { tail, complete: rows.length < TAIL, watermark: tail[0] ?? 0n, localAdded: 0 };
  }

  /**
   * The rows above `watermark`, newest first, at most `limit`: read in growing chunks that stop at
   * the first older row, so that an inflated count costs at most one chunk more than what is new.
   * `more` when the limit was reached before an older row or the end.
   */
  private async readAbove(
    conversationId: string,
    watermark: bigint,
    limit: number,
  ): Promise<{ rows: PlainRow[]; more: boolean }> {
    const out: PlainRow[] = [];
    let before: string | undefined;
    let chunk = Math.min(limit, FIRST_CHUNK);
    for (;;) {
      const rows = await this.readNewest(conversationId, chunk, before);
      for (const row of rows) {
        if (BigInt(row.id) <= watermark) return { rows: out, more: false };
        out.push(row);
        if (out.length >= limit) return { rows: out, more: true };
      }
      if (rows.length < chunk) return { rows: out, more: false };
      before = String(rows[rows.length - 1].id);
      chunk = Math.min(limit - out.length, chunk * 4);
    }
  }
}

function ids(rows: PlainRow[]): bigint[] {
  return rows.map((r) => BigInt(r.id));
}

/** A change made through this process, applied to the view (no I/O). */
function applyLocal(view: View, op: LocalOp): void {
  if (op.type === 'added') view.localAdded += op.count;
  else if (op.type === 'popped') {
    if (view.localAdded > 0) view.localAdded--;
    else view.tail.shift();
  } else {
    view.tail = [];
    view.complete = true;
    view.localAdded = 0;
  }
}

/** New rows (ids above the watermark, newest first) enter the view; `gap` when older new rows were not read. */
function takeNewRows(view: View, fresh: bigint[], gap: boolean): void {
  if (fresh.length === 0) return;
  if (fresh[0] > view.watermark) view.watermark = fresh[0];
  const tail = gap ? fresh : [...fresh, ...view.tail];
  view.complete = !gap && view.complete && tail.length <= TAIL;
  view.tail = tail.slice(0, TAIL);
}
