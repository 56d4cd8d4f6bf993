import { SessionStorageUnavailableError } from '../exceptions';
import { SESSION_MEMORY } from '../exceptions/message-prefix';
import type { OperationGate } from './operation-gate';

/** One conversation's operations in this process: how many run, and who waits for a turn. */
interface Lane {
  active: number;
  waiting: { start(): void; timer?: ReturnType<typeof setTimeout> }[];
}

/**
 * Bounds what one conversation's writes may take from the pool (reads do not wait for row locks, so
 * they are not counted): at most `maxActive` of its operations run
 * (hold or wait for a connection, or wait for its row lock) at once in this process, at most
 * `maxQueued` more wait for a turn (each for at most `maxWaitMs`), and any further call fails at
 * once with `SessionStorageUnavailableError` naming the conversation. So a conversation stuck behind
 * a lock held elsewhere costs the others at most `maxActive` connections, and its callers learn it
 * fast instead of queueing without bound. Conversations with nothing running take no memory.
 * @internal
 */
export class ConversationLimiter {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly maxActive: number,
    private readonly maxQueued: number,
    /** Longest wait for a turn (ms); 0 waits as long as it takes. */
    private readonly maxWaitMs: number,
  ) {}

  /** Runs `work` in one of the conversation's turns. */
  async run<T>(conversationId: string, operation: string, work: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(conversationId);
    if (!lane) {
      lane = { active: 0, waiting: [] };
      this.lanes.set(conversationId, lane);
    }
    if (lane.active < this.maxActive) lane.active++;
    else await this.waitForTurn(lane, conversationId, operation); // the turn is handed over, counted already
    try {
      return await work();
    } finally {
      const next = lane.waiting.shift();
      if (next) next.start();
      else if (--lane.active === 0) this.lanes.delete(conversationId);
    }
  }

  private waitForTurn(lane: Lane, conversationId: string, operation: string): Promise<void> {
    if (lane.waiting.length >= this.maxQueued) {
      return Promise.reject(
        this.busy(
          conversationId,
          operation,
          `${lane.active} operations are running and ${lane.waiting.length} waiting`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Lane['waiting'][number] = {
        start: () => {
          if (entry.timer) clearTimeout(entry.timer);
          resolve();
        },
      };
      if (this.maxWaitMs > 0) {
        entry.timer = setTimeout(() => {
          const at = lane.waiting.indexOf(entry);
          if (at >= 0) lane.waiting.splice(at, 1);
          reject(this.busy(conversationId, operation, `no turn came within ${this.maxWaitMs} ms (timeouts.lockMs)`));
        }, this.maxWaitMs);
        entry.timer.unref?.();
      }
      lane.waiting.push(entry);
    });
  }

  private busy(conversationId: string, operation: string, detail: string): SessionStorageUnavailableError {
    return new SessionStorageUnavailableError(
      `${SESSION_MEMORY}: ${operation} refused: conversation ${JSON.stringify(conversationId)} is busy (${detail}). ` +
        'Its operations are probably waiting for a lock another transaction holds; retry later. ' +
        'The limits are limits.maxConcurrentPerConversation and limits.maxQueuedPerConversation.',
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
