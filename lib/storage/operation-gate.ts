import { SessionStorageUnavailableError } from '../exceptions';
import { toSessionMemoryError } from './storage-errors';

/**
 * Counts the store operations in flight, maps their errors to the package's typed errors, and, at
 * shutdown, refuses new operations and waits for the running ones before the DataSource is destroyed
 * (a pool destroyed under waiting calls would leave them pending forever).
 * @internal
 */
export class OperationGate {
  private inFlight = 0;
  private closing = false;
  private readonly idle: (() => void)[] = [];

  /** True once `drain()` has been called. */
  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Runs one store operation, named `operation` in its errors; refused once `drain()` was called.
   * Once `abandoned` aborts (its caller gave up on it, e.g. a health check that timed out), `drain()`
   * no longer waits for it.
   */
  async guard<T>(operation: string, work: () => Promise<T>, abandoned?: AbortSignal): Promise<T> {
    if (this.closing) {
      throw new SessionStorageUnavailableError(
        `${operation} refused: the application is shutting down and SessionMemoryModule no longer takes new operations.`,
      );
    }
    this.inFlight++;
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      if (--this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
    abandoned?.addEventListener('abort', uncount, { once: true });
    try {
      return await work();
    } catch (err) {
      throw toSessionMemoryError(err, operation);
    } finally {
      abandoned?.removeEventListener('abort', uncount);
      uncount();
    }
  }

  /** Stops taking operations and resolves when none is running (every caller of `drain` is resolved). */
  drain(): Promise<void> {
    this.closing = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.idle.push(resolve);
    });
  }
}
