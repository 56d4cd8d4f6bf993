import { SessionMemoryConfigurationError } from '../exceptions';
import type { SessionMemoryHistoryCacheOptions } from '../interfaces/history-cache.interface';

/** The resolved `historyCache` option. @internal */
export interface ResolvedHistoryCache {
  maxBytes: number;
}

/** Default and bounds of `historyCache.maxBytes`. @internal */
export const HISTORY_CACHE_BYTES = { default: 64 * 1024 * 1024, min: 64 * 1024, max: 2 ** 40 } as const;

/**
 * Resolves the `historyCache` option: undefined (off, the default) unless `true` or an object.
 * @throws SessionMemoryConfigurationError for an unusable value, or with `encryption.ttl` (an item
 * that expires while cached would still be returned).
 * @internal
 */
export function resolveHistoryCache(
  option: boolean | SessionMemoryHistoryCacheOptions | undefined | null,
  encryption: unknown,
): ResolvedHistoryCache | undefined {
  if (option === undefined || option === null || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || Array.isArray(option))) {
    throw new SessionMemoryConfigurationError(
      `option historyCache must be true, false or { maxBytes? }, got ${JSON.stringify(option)}.`,
    );
  }
  const given: unknown = option === true ? undefined : option.maxBytes;
  const maxBytes = given ?? HISTORY_CACHE_BYTES.default;
  if (
    typeof maxBytes !== 'number' ||
    !Number.isSafeInteger(maxBytes) ||
    maxBytes < HISTORY_CACHE_BYTES.min ||
    maxBytes > HISTORY_CACHE_BYTES.max
  ) {
    throw new SessionMemoryConfigurationError(
      `option historyCache.maxBytes is ${String(given)}: give a whole number of bytes from ${HISTORY_CACHE_BYTES.min} to 2^40, or leave it out (64 MiB).`,
    );
  }
  const ttl = (encryption as { ttl?: unknown } | null | undefined)?.ttl;
  if (ttl !== undefined) {
    throw new SessionMemoryConfigurationError(
      'option historyCache cannot be combined with encryption.ttl: a cached item would still be returned after it expires. Remove one of them.',
    );
  }
  return { maxBytes };
}
