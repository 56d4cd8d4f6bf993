/**
 * What every message of this package starts with (`nestjs-session-memory: ...`), so that its errors
 * and warnings are found in a log by one search. `SessionMemoryError` adds it to every error message;
 * log lines (warnings) write it themselves. @internal
 */
export const SESSION_MEMORY = 'nestjs-session-memory';

/** `message` with the package prefix in front. @internal */
export function withPrefix(message: string): string {
  return `${SESSION_MEMORY}: ${message}`;
}

/** `message` without the package prefix, to quote a reason inside another message. @internal */
export function withoutPrefix(message: string): string {
  return message.startsWith(`${SESSION_MEMORY}: `) ? message.slice(SESSION_MEMORY.length + 2) : message;
}
