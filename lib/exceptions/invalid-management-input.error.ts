import { InvalidSessionInputError } from './invalid-session-input.error';

/** Conversation metadata is not a plain JSON object within the size limit, or a metadata filter is malformed. */
export class InvalidSessionMetadataError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_METADATA');
  }
}

/** Options of `listSessions` / `purgeExpired` / `ttl` are malformed (bad limit, cursor, date or duration). */
export class InvalidManagementOptionsError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_OPTIONS');
  }
}
