import { SessionMemoryError } from './session-memory.error';

/**
 * The caller does not own the conversation (the `owner` option recorded another owner on its first
 * write); nothing was read or written. The message does not name the owner. HTTP status 403: the
 * module answers it as Nest answers a `ForbiddenException` (`{ statusCode: 403, message, error:
 * 'Forbidden' }`) wherever it is thrown in an HTTP handler, with no setup (an exception filter the
 * module registers for this error only).
 */
export class ConversationAccessDeniedError extends SessionMemoryError {
  constructor(
    /** The conversation that was refused. */
    readonly conversationId: string,
  ) {
    super(`conversation ${JSON.stringify(conversationId)} belongs to another caller.`, 'SESSION_MEMORY_ACCESS_DENIED');
  }

  /** 403 Forbidden. */
  override getStatus(): number {
    return 403;
  }
}
