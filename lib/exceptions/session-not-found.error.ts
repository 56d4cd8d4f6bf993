import { SessionMemoryError } from './session-memory.error';

/** The conversation asked for does not exist in the store. HTTP status 404. */
export class SessionNotFoundError extends SessionMemoryError {
  /** The conversation id that was not found. */
  readonly conversationId: string;

  constructor(conversationId: string) {
    super(
      `Conversation ${JSON.stringify(conversationId)} does not exist. Check the id, or create it by adding items first.`,
      'SESSION_MEMORY_NOT_FOUND',
    );
    this.conversationId = conversationId;
  }

  /** 404 Not Found. */
  override getStatus(): number {
    return 404;
  }
}
