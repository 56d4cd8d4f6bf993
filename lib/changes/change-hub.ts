import type { Logger } from '@nestjs/common';
import { Observable, Subscriber } from 'rxjs';
import type { SessionItem } from '../interfaces';
import type { ConversationChange } from './conversation-change';

/** A remote change as carried by a notification: no items, only how many. @internal */
export interface RemoteChange {
  conversationId: string;
  type: ConversationChange['type'];
  count: number;
}

/** Carries changes between instances (PostgreSQL LISTEN/NOTIFY). @internal */
export interface ChangeRelay {
  /** Sends a change to the other instances. */
  publish(change: RemoteChange): Promise<void>;
  /** Starts listening (idempotent); remote changes go to `onRemote`. */
  start(onRemote: (change: RemoteChange) => void): void;
  /** Stops listening and closes the connection; resolves when it is closed. */
  stop(): Promise<void>;
}

/**
 * Fans changes out to the subscribers of each conversation, in this process, and through a relay to
 * other instances. With no relay and no subscriber of a conversation, `wants()` is false and writers
 * skip all of it (one Map lookup).
 * @internal
 */
export class ChangeHub {
  private readonly subscribers = new Map<string, Set<Subscriber<ConversationChange>>>();
  private remoteQueue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly relay: ChangeRelay | undefined,
    /** Reads the newest `count` items of a conversation (for remote `added` changes). */
    private readonly readNewest: (conversationId: string, count: number) => Promise<SessionItem[]>,
  ) {}

  /** True when a write to `conversationId` must be reported. */
  wants(conversationId: string): boolean {
    return this.relay !== undefined || this.subscribers.has(conversationId);
  }

  /** The changes of one conversation, from now on, until the module shuts down. */
  observe(conversationId: string): Observable<ConversationChange> {
    return new Observable<ConversationChange>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      let set = this.subscribers.get(conversationId);
      if (!set) {
        set = new Set();
        this.subscribers.set(conversationId, set);
      }
      set.add(subscriber);
      this.relay?.start((change) => this.onRemote(change));
      return () => {
        const current = this.subscribers.get(conversationId);
        if (!current) return;
        current.delete(subscriber);
        if (current.size === 0) this.subscribers.delete(conversationId);
        if (this.subscribers.size === 0 && this.relay && !this.closed) {
          this.relay
            .stop()
            .catch((err) => this.logger.warn(`Closing the change listener failed: ${(err as Error).message}`));
        }
      };
    });
  }

  /** Reports a change made in this process: to local subscribers, then to other instances. */
  async publish(change: ConversationChange): Promise<void> {
    this.deliver(change);
    if (this.relay && !this.closed) {
      const count = change.type === 'added' ? change.count : change.type === 'popped' ? 1 : 0;
      try {
        await this.relay.publish({ conversationId: change.conversationId, type: change.type, count });
      } catch (err) {
        // The write itself succeeded: a lost notification must not fail it.
        this.logger.warn(
          `Could not notify other instances of a change to ${JSON.stringify(change.conversationId)}: ${(err as Error).message}`,
        );
      }
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
    for (const set of this.subscribers.values()) for (const s of [...set]) s.complete();
    this.subscribers.clear();
    await this.relay?.stop();
    await this.remoteQueue;
  }

  private deliver(change: ConversationChange): void {
    const set = this.subscribers.get(change.conversationId);
    if (!set) return;
    for (const s of [...set]) s.next(change);
  }

  /** Remote changes are handled one at a time, so that their order is kept. */
  private onRemote(change: RemoteChange): void {
    if (!this.subscribers.has(change.conversationId)) return;
    this.remoteQueue = this.remoteQueue.then(async () => {
      if (this.closed || !this.subscribers.has(change.conversationId)) return;
      const { conversationId } = change;
      if (change.type === 'added') {
        let items: SessionItem[] = [];
        try {
          items = change.count > 0 ? await this.readNewest(conversationId, change.count) : [];
        } catch (err) {
          this.logger.warn(
            `Could not re-read the items added to ${JSON.stringify(conversationId)}: ${(err as Error).message}`,
          );
        }
        this.deliver({ type: 'added', conversationId, items, count: change.count, origin: 'remote' });
      } else if (change.type === 'popped') {
        for (let i = 0; i < Math.max(1, change.count); i++)
          this.deliver({ type: 'popped', conversationId, item: undefined, origin: 'remote' });
      } else {
        this.deliver({ type: 'cleared', conversationId, origin: 'remote' });
      }
    });
  }
}
