import { InvalidManagementOptionsError, SessionMemoryConfigurationError } from '../exceptions';
import { withoutPrefix } from '../exceptions/message-prefix';
import { EncryptingCodec, ItemCodec, PLAIN_CODEC } from '../encryption/item-codec';
import type { SessionMemoryDistribution, SessionMemoryModuleOptions, UnownedConversations } from '../interfaces';
import { toMilliseconds } from '../management/duration';
import { listCursorKey } from '../management/list-cursor';
import type { ResolvedTables } from '../storage/session-store';
import { DEFAULT_ITEM_LIMITS, ItemLimits, assertIdentifier } from '../validation';
import { DEFAULT_TIMEOUTS, ResolvedTimeouts, ResolvedTtl } from './resolved-options';

// Still importable from here for lib/management/retention.ts and test/reliability/shutdown-stall.spec.ts.
export { clientQueryTimeoutMs } from './resolved-options';
export type { ResolvedTtl } from './resolved-options';

/** Default and largest number of conversations deleted per purge transaction. @internal */
export const PURGE_BATCH = { default: 500, max: 10_000 } as const;

/** Checks the table options and fills in defaults. @throws SessionMemoryConfigurationError @internal */
export function resolveTables(options: Pick<SessionMemoryModuleOptions, 'tables'>): ResolvedTables {
  const t = options.tables ?? {};
  const tables: ResolvedTables = {
    sessions: assertIdentifier(t.sessions ?? 'agent_sessions', 'tables.sessions'),
    messages: assertIdentifier(t.messages ?? 'agent_messages', 'tables.messages'),
  };
  if (t.schema !== undefined) tables.schema = assertIdentifier(t.schema, 'tables.schema');
  if (tables.sessions === tables.messages) {
    throw new SessionMemoryConfigurationError(
      `options tables.sessions and tables.messages name the same table. Give them different names.`,
    );
  }
  if (tables.sessions.toLowerCase() === tables.messages.toLowerCase()) {
    throw new SessionMemoryConfigurationError(
      `options tables.sessions "${tables.sessions}" and tables.messages "${tables.messages}" are equal ignoring case: ` +
        'SQLite (and MySQL/MariaDB on case-insensitive file systems) would take them for one table. Give them names that differ by more than case.',
    );
  }
  return tables;
}

/** Checks `limits` and fills in defaults. @throws SessionMemoryConfigurationError @internal */
export function resolveLimits(options: Pick<SessionMemoryModuleOptions, 'limits'>): ItemLimits {
  const limits = { ...DEFAULT_ITEM_LIMITS, ...(options.limits ?? {}) };
  for (const key of Object.keys(DEFAULT_ITEM_LIMITS) as (keyof ItemLimits)[]) {
    const v = limits[key];
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new SessionMemoryConfigurationError(`option limits.${key} is ${String(v)}: it must be a whole number > 0.`);
    }
  }
  return limits;
}

/**
 * Checks the `encryption` option and builds the item codec: plain JSON without it.
 * @throws SessionMemoryConfigurationError @internal
 */
export function resolveCodec(options: Pick<SessionMemoryModuleOptions, 'encryption'>): ItemCodec {
  const e: unknown = options.encryption;
  if (e === undefined || e === null) return PLAIN_CODEC;
  const given = (e as { keys?: unknown }).keys;
  const keys = typeof given === 'string' ? [given] : given;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k.length === 0)) {
    throw new SessionMemoryConfigurationError(
      `option encryption.keys must be a non-empty string or a non-empty array of them (the first encrypts, all decrypt).`,
    );
  }
  const ttl = (e as { ttl?: unknown }).ttl;
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1)) {
    throw new SessionMemoryConfigurationError(
      `option encryption.ttl is ${String(ttl)}: give a whole number of seconds >= 1, or leave it out.`,
    );
  }
  const strict = (e as { strict?: unknown }).strict;
  if (strict !== undefined && typeof strict !== 'boolean') {
    throw new SessionMemoryConfigurationError(
      `option encryption.strict is ${JSON.stringify(strict)}: give true (every row must be encrypted), false, or leave it out.`,
    );
  }
  const cacheBytes = (e as { cacheBytes?: unknown }).cacheBytes;
  if (
    cacheBytes !== undefined &&
    (typeof cacheBytes !== 'number' || !Number.isSafeInteger(cacheBytes) || cacheBytes < 0)
  ) {
    throw new SessionMemoryConfigurationError(
      `option encryption.cacheBytes is ${String(cacheBytes)}: give a whole number of bytes >= 0 (0 turns the cache off), or leave it out.`,
    );
  }
  return new EncryptingCodec(
    keys as string[],
    ttl as number | undefined,
    strict === true,
    cacheBytes as number | undefined,
  );
}

/** Resolved per-conversation concurrency limits. @internal */
export interface ConcurrencyLimits {
  maxConcurrentPerConversation: number;
  maxQueuedPerConversation: number;
}

/** Defaults of the per-conversation concurrency limits. @internal */
export const DEFAULT_CONCURRENCY_LIMITS: Readonly<ConcurrencyLimits> = Object.freeze({
  maxConcurrentPerConversation: 2,
  maxQueuedPerConversation: 100_000,
});

/** Largest accepted value of each per-conversation limit (the queue cap is a memory cap, far above a burst). @internal */
const MAX_CONCURRENCY_LIMITS: Readonly<ConcurrencyLimits> = Object.freeze({
  maxConcurrentPerConversation: 10_000,
  maxQueuedPerConversation: 10_000_000,
});

/** Checks `limits.maxConcurrentPerConversation` / `maxQueuedPerConversation`. @throws SessionMemoryConfigurationError @internal */
export function resolveConcurrencyLimits(options: Pick<SessionMemoryModuleOptions, 'limits'>): ConcurrencyLimits {
  const given = options.limits ?? {};
  const out = { ...DEFAULT_CONCURRENCY_LIMITS };
  for (const key of Object.keys(DEFAULT_CONCURRENCY_LIMITS) as (keyof ConcurrencyLimits)[]) {
    const v = given[key];
    if (v === undefined) continue;
    const min = key === 'maxQueuedPerConversation' ? 0 : 1;
    const max = MAX_CONCURRENCY_LIMITS[key];
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new SessionMemoryConfigurationError(
        `option limits.${key} is ${String(v)}: it must be a whole number from ${min} to ${max}.`,
      );
    }
    out[key] = v;
  }
  return out;
}

/** Checks `timeouts` and fills in defaults. @throws SessionMemoryConfigurationError @internal */
export function resolveTimeouts(options: Pick<SessionMemoryModuleOptions, 'timeouts'>): ResolvedTimeouts {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...(options.timeouts ?? {}) };
  for (const key of Object.keys(DEFAULT_TIMEOUTS) as (keyof ResolvedTimeouts)[]) {
    const v = timeouts[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new SessionMemoryConfigurationError(
        `option timeouts.${key} is ${String(v)}: it must be a whole number of milliseconds >= 0 (0 turns it off).`,
      );
    }
  }
  return timeouts;
}

/**
 * Checks the `distribution` option (PostgreSQL / Citus) and fills in the default `'auto'`.
 * @param option the option's name in messages (`distribution`, or the migration's).
 * @throws SessionMemoryConfigurationError @internal
 */
export function resolveDistribution(
  options: Pick<SessionMemoryModuleOptions, 'distribution'>,
  option = 'distribution',
): SessionMemoryDistribution {
  const value: unknown = options.distribution ?? 'auto';
  if (value !== 'auto' && value !== 'citus' && value !== 'none') {
    throw new SessionMemoryConfigurationError(
      `option ${option} is ${JSON.stringify(value)}: use 'auto' (Citus when the database has the citus extension), ` +
        "'citus' (always distributed tables) or 'none' (plain PostgreSQL tables), or leave it out.",
    );
  }
  return value;
}

/**
 * Checks the `unownedConversations` option and fills in the default `'claim'`.
 * @throws SessionMemoryConfigurationError @internal
 */
export function resolveUnownedConversations(
  options: Pick<SessionMemoryModuleOptions, 'unownedConversations'>,
): UnownedConversations {
  const value: unknown = options.unownedConversations ?? 'claim';
  if (value !== 'claim' && value !== 'deny') {
    throw new SessionMemoryConfigurationError(
      `option unownedConversations must be 'claim' or 'deny', got ${JSON.stringify(value) ?? String(value)}. ` +
        "Leave it out for 'claim' (the first owner-scoped write claims a conversation nobody owns).",
    );
  }
  return value;
}

/**
 * Refuses options that were removed, saying what replaces them.
 * @throws SessionMemoryConfigurationError @internal
 */
export function rejectRemovedOptions(options: object): void {
  if ((options as { defaultLimit?: unknown }).defaultLimit !== undefined) {
    throw new SessionMemoryConfigurationError(
      `option defaultLimit was removed: getItems() without a limit returns the whole history, ` +
        'which the Agents SDK runner relies on (compaction, resumed runs). To bound what the model sees, pass ' +
        '`sessionInputCallback: windowHistory({ maxItems })` to run() instead; the stored history stays whole.',
    );
  }
}

/** Resolves the `ttl` option: undefined when off. @throws SessionMemoryConfigurationError @internal */
export function resolveTtl(options: Pick<SessionMemoryModuleOptions, 'ttl'>): ResolvedTtl | undefined {
  const ttl: unknown = options.ttl;
  if (ttl === undefined || ttl === null || ttl === false) return undefined;
  return asConfigurationError(() => {
    const o =
      typeof ttl === 'object' ? (ttl as { idleFor?: unknown; every?: unknown; batchSize?: unknown }) : { idleFor: ttl };
    const idleForMs = toMilliseconds(o.idleFor, 'Option ttl.idleFor');
    const everyMs =
      o.every === undefined
        ? Math.min(Math.max(Math.round(idleForMs / 10), 60_000), 3_600_000)
        : toMilliseconds(o.every, 'Option ttl.every', {
            ms: MAX_TIMER_MS,
            text: '24 days (the longest Node.js timer)',
          });
    const batchSize = o.batchSize === undefined ? PURGE_BATCH.default : o.batchSize;
    if (
      typeof batchSize !== 'number' ||
      !Number.isSafeInteger(batchSize) ||
      batchSize < 1 ||
      batchSize > PURGE_BATCH.max
    ) {
      throw new InvalidManagementOptionsError(
        `Option ttl.batchSize must be a whole number from 1 to ${PURGE_BATCH.max}, got ${String(o.batchSize)}.`,
      );
    }
    return { idleForMs, everyMs, batchSize };
  });
}

/** The longest delay of a Node.js timer (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Shortest accepted `cursorSecret`, in characters. */
const MIN_CURSOR_SECRET_LENGTH = 16;

/**
 * Resolves the `cursorSecret` option into the key that signs `listSessions` cursors (a random
 * per-process key when it is left out). @throws SessionMemoryConfigurationError @internal
 */
export function resolveCursorKey(options: Pick<SessionMemoryModuleOptions, 'cursorSecret'>): Buffer {
  const secret: unknown = options.cursorSecret;
  if (secret === undefined) return listCursorKey();
  if (typeof secret !== 'string' || secret.length < MIN_CURSOR_SECRET_LENGTH || !secret.isWellFormed()) {
    throw new SessionMemoryConfigurationError(
      `option cursorSecret must be a string of at least ${MIN_CURSOR_SECRET_LENGTH} characters ` +
        `(got ${typeof secret === 'string' ? `${secret.length} characters${secret.isWellFormed() ? '' : ' with a lone surrogate'}` : typeof secret}). ` +
        'Use a long random value (e.g. 32 random bytes, base64) shared by the instances that exchange cursors, or leave it out.',
    );
  }
  return listCursorKey(secret);
}

/** Turns a validation error about an option into the configuration error module start-up reports. */
function asConfigurationError<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (err) {
    if (err instanceof SessionMemoryConfigurationError) throw err;
    throw new SessionMemoryConfigurationError(withoutPrefix((err as Error).message), { cause: err });
  }
}
