import { SessionStorageUnavailableError } from '../exceptions';
import type { OperationGate } from './operation-gate';

/** One call waiting for a turn: a link of its conversation's FIFO queue. */
interface Waiter {
  /** When it joined the queue (performance.now()). */
  readonly since: number;
  readonly operation: string;
  start(): void;
  fail(error: SessionStorageUnavailableError): void;
  next?: Waiter;
}

/** One conversation's operations in this process: how many run, and who waits for a turn, in order. */
interface Lane {
  active: number;
  head?: Waiter;
  tail?: Waiter;
  waiting: number;
  /** When one of its operations last completed without error, or the lane was created (performance.now()). */
  progressAt: number;
  /** The one timer of the lane: due when the head of the queue has waited too long without progress. */
  timer?: ReturnType<typeof setTimeout>;
  /** Its latest operation failed (a lock wait that timed out, probably): one at a time until one succeeds. */
  failing: boolean;
}

/**
 * Bounds what one conversation's writes may take from the pool (reads do not wait for row locks, so
 * they are not counted): at most `maxActive` of its operations run (hold or wait for a connection,
 * or wait for its row lock) at once in this process. Further calls wait for a turn in a FIFO queue,
 * as they would queue on the row lock in the database: a burst on a healthy conversation completes
 * whatever its size. A waiting call fails with `SessionStorageUnavailableError` naming the
 * conversation once `maxWaitMs` has passed, since it joined the queue, without any operation of the
 * conversation completing: a conversation stuck behind a lock held elsewhere costs the others at most
 * `maxActive` connections, and its callers learn it after `maxWaitMs` (timeouts.lockMs), while a busy
 * but moving one keeps serving them. `maxQueued` is only a memory cap (default 100,000): past it a
 * call fails at once. Conversations with nothing running take no memory.
 * @internal
 */
export class ConversationLimiter {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly maxActive: number,
    private readonly maxQueued: number,
    /** Longest wait for a turn without the conversation making progress (ms); 0 waits as long as it takes. */
    private readonly maxWaitMs: number,
  ) {}

  /** Runs `work` in one of the conversation's turns (at once, or after the calls queued before it). */
  async run<T>(conversationId: string, operation: string, work: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(conversationId);
    if (!lane) {
      lane = { active: 0, waiting: 0, progressAt: performance.now(), failing: false };
      this.lanes.set(conversationId, lane);
    }
    if (lane.active < this.bound(lane)) lane.active++;
    else await this.waitForTurn(lane, conversationId, operation); // the turn is handed over, counted already
    let result: T;
    try {
      result = await work();
    } catch (err) {
      lane.failing = true;
      this.release(lane, conversationId);
      throw err;
    }
    lane.progressAt = performance.now();
    lane.failing = false;
    this.release(lane, conversationId);
    return result;
  }

  /**
   * How many of the lane's operations may run: `maxActive`, or 1 while its operations fail (stuck
   * behind a lock held elsewhere: each waiter holds a connection until `lockMs`, so the stuck
   * conversation then holds one connection of the pool, not `maxActive`).
   */
  private bound(lane: Lane): number {
    return lane.failing ? 1 : this.maxActive;
  }

  /** Hands a finished operation's turn to the longest-waiting calls, up to the bound, or gives it back. */
  private release(lane: Lane, conversationId: string): void {
    lane.active--;
    for (let next: Waiter | undefined; lane.active < this.bound(lane) && (next = this.dequeue(lane));) {
      lane.active++;
      next.start();
    }
    if (lane.active === 0) {
      if (lane.timer) clearTimeout(lane.timer);
      this.lanes.delete(conversationId);
    }
  }

  private dequeue(lane: Lane): Waiter | undefined {
    const first = lane.head;
    if (!first) return undefined;
    lane.head = first.next;
    if (!lane.head) lane.tail = undefined;
    first.next = undefined;
    lane.waiting--;
    return first;
  }

  private waitForTurn(lane: Lane, conversationId: string, operation: string): Promise<void> {
    if (lane.waiting >= this.maxQueued) {
      return Promise.reject(
        this.busy(conversationId, operation, `${lane.active} operations are running and ${lane.waiting} waiting`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { since: performance.now(), operation, start: resolve, fail: reject };
      if (lane.tail) lane.tail.next = waiter;
      else lane.head = waiter;
      lane.tail = waiter;
      lane.waiting++;
      if (this.maxWaitMs > 0 && !lane.timer) this.armTimer(lane, conversationId);
    });
  }

  /**
   * A waiter is due at max(since, progressAt) + maxWaitMs. Along the queue `since` only grows, so the
   * head is always due first: one timer per lane, set for the head, fails the due ones from the head
   * and sets itself again for the next (progress meanwhile only moves the deadlines later).
   */
  private armTimer(lane: Lane, conversationId: string): void {
    const head = lane.head;
    if (!head) {
      lane.timer = undefined;
      return;
    }
    const delay = Math.max(0, Math.max(head.since, lane.progressAt) + this.maxWaitMs - performance.now());
    lane.timer = setTimeout(() => this.expire(lane, conversationId), Math.ceil(delay));
    lane.timer.unref?.();
  }

  private expire(lane: Lane, conversationId: string): void {
    const now = performance.now();
    while (lane.head && Math.max(lane.head.since, lane.progressAt) + this.maxWaitMs <= now) {
      const due = this.dequeue(lane) as Waiter;
      due.fail(
        this.busy(
          conversationId,
          due.operation,
          `it waited ${this.maxWaitMs} ms (timeouts.lockMs) for a turn and none of the conversation's ` +
            `${lane.active} running operations completed meanwhile`,
        ),
      );
    }
    this.armTimer(lane, conversationId);
  }

  private busy(conversationId: string, operation: string, detail: string): SessionStorageUnavailableError {
    return new SessionStorageUnavailableError(
      `${operation} refused: conversation ${JSON.stringify(conversationId)} is busy (${detail}). ` +
        'Its operations are probably waiting for a lock another transaction holds; retry later. ' +
        'The limits are limits.maxConcurrentPerConversation, limits.maxQueuedPerConversation and timeouts.lockMs.',
    );
  }
}

/**
 * Runs one store operation of one conversation: through the operation gate (error mapping, shutdown)
 * and in one of the conversation's turns (`ConversationLimiter`).
 * @internal
 */
export function guardConversation<T>(
  context: { readonly gate: OperationGate; readonly limiter: ConversationLimiter },
  operation: string,
  conversationId: string,
  work: () => Promise<T>,
): Promise<T> {
  return context.gate.guard(operation, () => context.limiter.run(conversationId, operation, work));
}
