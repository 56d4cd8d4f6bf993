import { InvalidSessionInputError } from './invalid-input.errors';
import { SessionMemoryError } from './session-memory.error';

/**
 * A branch operation was refused before anything was written: a turn out of range or not a user turn,
 * a name already used or not usable, `main` given where it cannot be, the current branch deleted without
 * `force`. The message names the value and what to do. HTTP status 400.
 */
export class InvalidBranchOperationError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_BRANCH_OPERATION');
  }
}

/** The branch asked for does not exist in the conversation, or was deleted. HTTP status 404. */
export class BranchNotFoundError extends SessionMemoryError {
  /** The conversation id. */
  readonly conversationId: string;
  /** The branch id that was not found. */
  readonly branchId: string;

  constructor(conversationId: string, branchId: string) {
    super(
      `Conversation ${JSON.stringify(conversationId)} has no branch ${JSON.stringify(branchId)} ` +
        '(never created, or deleted). listBranches() names the branches it has.',
      'SESSION_MEMORY_BRANCH_NOT_FOUND',
    );
    this.conversationId = conversationId;
    this.branchId = branchId;
  }

  /** 404 Not Found. */
  override getStatus(): number {
    return 404;
  }
}
