/**
 * A length of time: milliseconds as a number, or a string of one or more `<number><unit>` parts with
 * unit `ms`, `s`, `m`, `h`, `d` or `w` (for example `'30d'`, `'1h30m'`, `'500ms'`).
 */
export type Duration = number | string;

/** Options of `SessionMemoryService.purgeExpired()`. */
export interface PurgeExpiredOptions {
  /** Delete conversations not written for longer than this (ms, or a duration string like `'30d'`). */
  idleFor: Duration;
  /** Conversations deleted per transaction. Default 500, at most 10000. */
  batchSize?: number;
  /** Stop after this many batches (a bound on one run's work), at most 1,000,000. Default: until none is left. */
  maxBatches?: number;
}

/** Options of `SessionMemoryService.reencrypt()`. */
export interface ReencryptOptions {
  /** Rows looked at in this call (all conversations, in id order). Default 500, at most 10,000. */
  batchSize?: number;
  /** The `nextCursor` of the previous call; leave out to start from the first row. */
  cursor?: string;
  /** Also encrypt rows stored as plain JSON (written before encryption was turned on). Default `false`. */
  encryptPlain?: boolean;
}

/** What one `reencrypt()` call did. */
export interface ReencryptResult {
  /** Rows looked at. */
  scanned: number;
  /** Rows rewritten under the current (first) key. */
  updated: number;
  /** Rows no configured key opens (left as they are; they are skipped on reads). */
  unreadable: number;
  /** Where the next call goes on; `undefined` once every row was looked at. */
  nextCursor?: string;
}

/** The `ttl` module option in full. */
export interface SessionMemoryTtlOptions {
  /** Delete conversations not written for longer than this (ms, or a duration string like `'30d'`), at most 100 years. */
  idleFor: number | string;
  /**
   * How often to look (ms or duration), at most 24 days (Node.js timers' limit, 2^31 - 1 ms).
   * Default: a tenth of `idleFor`, between 1 minute and 1 hour.
   */
  every?: number | string;
  /** Conversations deleted per transaction, 1 to 10,000. Default 500. */
  batchSize?: number;
}
