import { SessionMemoryError } from './session-memory.error';

/** The module options cannot work (bad URL, bad table name, missing tables or driver). Raised at startup. */
export class SessionMemoryConfigurationError extends SessionMemoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'SESSION_MEMORY_CONFIGURATION', options);
  }
}
