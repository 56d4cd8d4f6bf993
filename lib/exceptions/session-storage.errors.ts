import { SessionMemoryError } from './session-memory.error';

/**
 * The database refused or failed an operation for a reason other than connectivity (a constraint, a
 * permission, a missing table). `cause` holds the driver's error. HTTP status 500.
 */
export class SessionStorageError extends SessionMemoryError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    const { code, ...rest } = options ?? {};
    super(message, code ?? 'SESSION_MEMORY_STORAGE_ERROR', 'cause' in rest ? { cause: rest.cause } : undefined);
  }
}

/**
 * The store cannot be reached now: the database is down or restarting, a connection was killed,
 * the pool is closed, a timeout expired, or the module is shutting down. Nothing was acknowledged;
 * retry later. `cause` holds the underlying error. HTTP status 503.
 */
export class SessionStorageUnavailableError extends SessionStorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'SESSION_MEMORY_STORAGE_UNAVAILABLE' });
  }

  /** 503 Service Unavailable: retry later. */
  override getStatus(): number {
    return 503;
  }
}
