import { ForbiddenException } from '@nestjs/common';
import { SESSION_MEMORY } from './message-prefix';

/**
 * The caller does not own the conversation (the `owner` option recorded another owner on its first
 * write). A `ForbiddenException`, so Nest answers 403; nothing was read or written. The message does
 * not name the owner.
 */
export class ConversationAccessDeniedError extends ForbiddenException {
  /** Stable error code, as on every error of this package. */
  readonly code = 'SESSION_MEMORY_ACCESS_DENIED';

  constructor(
    /** The conversation that was refused. */
    readonly conversationId: string,
  ) {
    super(`${SESSION_MEMORY}: conversation ${JSON.stringify(conversationId)} belongs to another caller.`);
  }
}
