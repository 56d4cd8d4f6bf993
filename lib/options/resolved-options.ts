/**
 * Resolved option types and their pure helpers, which storage may import: no validation, no
 * dependency on the option resolver (session-memory-options.resolver.ts fills these in).
 */

/** Resolved time limits, in ms (0 = off). See `SessionMemoryTimeoutsOptions`. */
export interface ResolvedTimeouts {
  statementMs: number;
  lockMs: number;
  connectMs: number;
}

/** Defaults of `SessionMemoryTimeoutsOptions`. */
export const DEFAULT_TIMEOUTS: Readonly<ResolvedTimeouts> = Object.freeze({
  statementMs: 30_000,
  lockMs: 5_000,
  connectMs: 5_000,
});

/** Resolved `ttl` option. @internal */
export interface ResolvedTtl {
  idleForMs: number;
  everyMs: number;
  batchSize: number;
}

/**
 * The client-side limit of one query, for a server that cannot answer at all (a network partition):
 * `statementMs` plus time to connect (at least 1 s), so the server's own statement timeout fires first
 * whenever the server can still speak. 0 when `statementMs` is off. Used by the PostgreSQL and MySQL paths.
 * @internal
 */
export function clientQueryTimeoutMs(timeouts: { statementMs: number; connectMs?: number }): number {
  return timeouts.statementMs > 0 ? timeouts.statementMs + Math.max(timeouts.connectMs ?? 0, 1000) : 0;
}
