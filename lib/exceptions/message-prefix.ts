/**
 * What every message of this package starts with (`nestjs-session-memory: ...`), so that its errors
 * and warnings are found in a log by one search. @internal
 */
export const SESSION_MEMORY = 'nestjs-session-memory';
