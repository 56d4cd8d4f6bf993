/**
 * Base class of every error thrown by nestjs-session-memory.
 *
 * Catch this to handle all of the package's errors at once; the subclasses tell what went wrong.
 */
export class SessionMemoryError extends Error {
  /** A stable, machine-readable code (e.g. `SESSION_MEMORY_INVALID_ITEMS`). */
  readonly code: string;

  constructor(message: string, code = 'SESSION_MEMORY_ERROR', options?: { cause?: unknown }) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (options && 'cause' in options) {
      Object.defineProperty(this, 'cause', {
        value: options.cause,
        enumerable: false,
        writable: true,
        configurable: true,
      });
    }
  }
}
