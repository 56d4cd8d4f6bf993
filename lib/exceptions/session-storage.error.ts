import { SessionMemoryError } from './session-memory.error';

/**
 * The database refused or failed an operation for a reason other than connectivity (a constraint, a
 * permission, a missing table). `cause` holds the driver's error.
 */
export class SessionStorageError extends SessionMemoryError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.code ?? 'SESSION_MEMORY_STORAGE_ERROR', options);
  }
}

/**
 * The store cannot be reached now: the database is down or restarting, a connection was killed,
 * the pool is closed, a timeout expired, or the module is shutting down. Nothing was acknowledged;
 * retry later. `cause` holds the underlying error.
 */
export class SessionStorageUnavailableError extends SessionStorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'SESSION_MEMORY_STORAGE_UNAVAILABLE' });
  }
}
