import type { Logger } from '@nestjs/common';
import { Observable, Subscriber } from 'rxjs';
import type { SessionItem } from '../interfaces';
import type { ChangeRelay, NewestRowsReader, RemoteChange } from './change-relay';
import type { ConversationChange } from './conversation-change';
import { LocalOp, MAX_LOCAL_OPS, Pending, RemoteChangeCheck, View, applyLocal, noPending } from './conversation-view';
import { RateLimitedWarning } from './rate-limited-warning';

/** One conversation with subscribers in this process. */
interface Watch {
  readonly subscribers: Set<Subscriber<ConversationChange>>;
  /** Undefined until the first read (and again after a failed one). */
  view?: View;
  pending: Pending;
  /** A check is in progress. */
  busy: boolean;
}

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
  private readonly remote: RemoteChangeCheck;

  constructor(
    private readonly logger: Logger,
    private readonly relay: ChangeRelay | undefined,
    /** Reads rows with their ids (for remote changes). */
    readNewest: NewestRowsReader,
    /** A row's plaintext as the item it holds, or undefined for a row that cannot be read (skipped). */
    decode: (conversationId: string, json: string | undefined) => SessionItem | undefined,
    /** The largest count sent or accepted in a notification (the module's `limits.maxItemsPerCall`). */
    private readonly maxCount: number,
  ) {
    this.remote = new RemoteChangeCheck(readNewest, decode, maxCount);
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
          await this.remote.check(
            conversationId,
            watch,
            pending,
            () => this.live(conversationId, watch),
            (change) => this.deliver(change),
          );
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
}
