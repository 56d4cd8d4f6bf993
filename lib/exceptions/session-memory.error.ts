import { withPrefix } from './message-prefix';

/**
 * Base class of every error thrown by nestjs-session-memory: catch it to handle all of the package's
 * errors at once; the subclasses tell what went wrong, `code` names it for machines.
 *
 * Every message starts with `nestjs-session-memory: ` (added here), so the package's errors are found
 * in a log by one search. `cause` (the native ES2022 property) holds the underlying error when there
 * is one, such as a driver's error behind a `SessionStorageError`.
 *
 * `getStatus()` is the HTTP status the error stands for (400 bad input, 403 another caller's
 * conversation, 404 unknown conversation, 409 a history transaction the stored history refuses,
 * 503 storage unavailable, 500 otherwise), for an exception
 * filter of your own. Out of the box the module answers only `ConversationAccessDeniedError` (403),
 * as before; every other error reaches Nest's default handling (500) unless you map it.
 */
export class SessionMemoryError extends Error {
  /** A stable, machine-readable code (e.g. `SESSION_MEMORY_INVALID_ITEMS`). */
  readonly code: string;

  constructor(message: string, code = 'SESSION_MEMORY_ERROR', options?: { cause?: unknown }) {
    super(withPrefix(message), options);
    this.name = new.target.name;
    this.code = code;
  }

  /** The HTTP status this error stands for: 500 here; the subclasses for bad input, access, absence and outages say otherwise. */
  getStatus(): number {
    return 500;
  }
}
