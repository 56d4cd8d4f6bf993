/**
 * What every message of this package starts with (`nestjs-session-memory: ...`), so that its errors
 * and warnings are found in a log by one search. `SessionMemoryError` adds it to every error message;
 * log lines (warnings) write it themselves. @internal
 */
export const SESSION_MEMORY = 'nestjs-session-memory';

/** `message` with the package prefix in front, once (a message that already carries it is kept). @internal */
export function withPrefix(message: string): string {
  // TRANSITION (issue #24 item 5): call sites in files being moved still write the prefix by hand
  // (some as "nestjs-session-memory could not ..."); once none does, this becomes an unconditional
  // `${SESSION_MEMORY}: ${message}`.
  return message.startsWith(SESSION_MEMORY) ? message : `${SESSION_MEMORY}: ${message}`;
}

/** `message` without the package prefix, to quote a reason inside another message. @internal */
export function withoutPrefix(message: string): string {
  return message.startsWith(`${SESSION_MEMORY}: `) ? message.slice(SESSION_MEMORY.length + 2) : message;
}
