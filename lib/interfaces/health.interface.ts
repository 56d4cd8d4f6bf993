/** What `SessionMemoryHealthIndicator.isHealthy()` returns: terminus's `HealthIndicatorResult` for `key`. */
export type SessionMemoryHealthResult<Key extends string = string> = Record<
  Key,
  { status: 'up' | 'down' } & Record<string, unknown>
>;

/** Options of `SessionMemoryHealthIndicator.isHealthy()`. */
export interface SessionMemoryHealthCheckOptions {
  /** The `name` of the SessionMemoryModule instance to check. Default: the unnamed instance. */
  instance?: string;
  /** Report `down` when the database has not answered within this many ms. Default 1,000. */
  timeoutMs?: number;
}
