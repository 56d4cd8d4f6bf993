import { SessionMemoryConfigurationError } from '../exceptions';
import type { SearchInclude, SessionMemorySearchOptions } from '../interfaces/search.interface';

/** The `search` option, checked and defaulted. @internal */
export interface ResolvedSearch {
  /** PostgreSQL's text search configuration. */
  language: string;
  include: ReadonlySet<SearchInclude>;
  /** Least time between the starts of two index passes while writes keep coming (ms). */
  indexIntervalMs: number;
  /** The `encryption` option is set: items are sealed, nothing is indexed (stale entries are still removed). */
  sealed: boolean;
}

const INCLUDES: readonly SearchInclude[] = ['messages', 'tool_calls', 'tool_outputs'];

/** `search.indexIntervalMs` when not given (docs/search.md, "Cost": chosen from docs/benchmarks.md's figures). @internal */
export const DEFAULT_INDEX_INTERVAL_MS = 100;

/** The largest `search.indexIntervalMs`: a minute. @internal */
export const MAX_INDEX_INTERVAL_MS = 60_000;

/**
 * Resolves the `search` option: undefined (off) unless `true` or an object. With `encryption` set the
 * index stays empty: sealed items are never indexed (their text never exists in plaintext in the
 * database).
 * @throws SessionMemoryConfigurationError for an unusable value.
 * @internal
 */
export function resolveSearch(
  search: boolean | SessionMemorySearchOptions | undefined,
  encryption: unknown,
): ResolvedSearch | undefined {
  if (search === undefined || search === false) return undefined;
  const options: SessionMemorySearchOptions = search === true ? {} : search;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SessionMemoryConfigurationError(
      `search must be true, false or { language?, include?, indexIntervalMs? }, got ${JSON.stringify(search)}.`,
    );
  }
  const language = options.language ?? 'simple';
  // A regconfig name (optionally schema-qualified): it is bound as a parameter, this only keeps typos out.
  if (typeof language !== 'string' || !/^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/.test(language)) {
    throw new SessionMemoryConfigurationError(
      `search.language must be a PostgreSQL text search configuration name such as 'simple' or 'english', got ${JSON.stringify(language)}.`,
    );
  }
  const include = options.include ?? ['messages'];
  if (!Array.isArray(include) || include.length === 0 || include.some((i) => !INCLUDES.includes(i))) {
    throw new SessionMemoryConfigurationError(
      `search.include must be a non-empty list of ${INCLUDES.map((i) => `'${i}'`).join(', ')}, got ${JSON.stringify(include)}.`,
    );
  }
  const indexIntervalMs = options.indexIntervalMs ?? DEFAULT_INDEX_INTERVAL_MS;
  if (!Number.isSafeInteger(indexIntervalMs) || indexIntervalMs < 0 || indexIntervalMs > MAX_INDEX_INTERVAL_MS) {
    throw new SessionMemoryConfigurationError(
      `search.indexIntervalMs must be a whole number of milliseconds from 0 to ${MAX_INDEX_INTERVAL_MS} ` +
        `(the least time between two index passes; default ${DEFAULT_INDEX_INTERVAL_MS}), got ${typeof indexIntervalMs === 'string' ? JSON.stringify(indexIntervalMs) : String(indexIntervalMs)}.`,
    );
  }
  return {
    language,
    include: new Set(include),
    indexIntervalMs,
    sealed: encryption !== undefined && encryption !== null,
  };
}
