import { HttpException, HttpStatus } from '@nestjs/common';

/** The caps of `StreamSlots`. */
export interface StreamSlotCaps {
  /** Open streams one caller may hold at once (a whole number >= 1). */
  perCaller: number;
  /** Open streams of all callers together (a whole number >= 1). */
  total: number;
}

/** Gives back one slot; calling it again does nothing. */
export type ReleaseSlot = () => void;

/**
 * Counts the open event streams (the change streams and the streamed replies) per caller and in
 * total, so that one caller, or everyone together, cannot hold an unbounded number of connections and
 * their memory. A stream takes a slot before it starts and gives it back when it ends, whatever the
 * reason (finished, client gone, shutdown). Counts live in this process only.
 */
export class StreamSlots {
  private readonly byCaller = new Map<string, number>();
  private open = 0;

  constructor(private readonly caps: StreamSlotCaps) {
    for (const key of ['perCaller', 'total'] as const) {
      if (!Number.isSafeInteger(caps[key]) || caps[key] < 1) {
        throw new RangeError(`StreamSlots: ${key} must be a whole number >= 1, got ${caps[key]}.`);
      }
    }
  }

  /**
   * Takes a slot for `callerId`.
   * @returns the function that gives it back (call it when the stream ends; more calls do nothing).
   * @throws HttpException 429 when the caller, or everyone together, already holds the most allowed.
   */
  acquire(callerId: string): ReleaseSlot {
    const mine = this.byCaller.get(callerId) ?? 0;
    if (mine >= this.caps.perCaller) {
      throw tooMany(
        `At most ${this.caps.perCaller} open event streams per caller: close one (another tab, or an ` +
          'earlier reply still streaming) and try again.',
      );
    }
    if (this.open >= this.caps.total) {
      throw tooMany(`At most ${this.caps.total} open event streams in total are served at once: try again later.`);
    }
    this.byCaller.set(callerId, mine + 1);
    this.open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
      const left = (this.byCaller.get(callerId) ?? 1) - 1;
      if (left === 0) this.byCaller.delete(callerId);
      else this.byCaller.set(callerId, left);
    };
  }

  /** Open streams of `callerId`, or of everyone when it is left out. */
  inUse(callerId?: string): number {
    return callerId === undefined ? this.open : (this.byCaller.get(callerId) ?? 0);
  }
}

function tooMany(message: string): HttpException {
  return new HttpException(
    { statusCode: HttpStatus.TOO_MANY_REQUESTS, error: 'Too Many Requests', message },
    HttpStatus.TOO_MANY_REQUESTS,
  );
}
