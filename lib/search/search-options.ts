import { SessionMemoryConfigurationError } from '../exceptions';
import type { SearchInclude, SessionMemorySearchOptions } from '../interfaces/search.interface';

/** The `search` option, checked and defaulted. @internal */
export interface ResolvedSearch {
  /** PostgreSQL's text search configuration. */
  language: string;
  include: ReadonlySet<SearchInclude>;
  /** The `encryption` option is set: items are sealed, nothing is indexed (stale entries are still removed). */
  sealed: boolean;
}

const INCLUDES: readonly SearchInclude[] = ['messages', 'tool_calls', 'tool_outputs'];

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
      `search must be true, false or { language?, include? }, got ${JSON.stringify(search)}.`,
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
  return { language, include: new Set(include), sealed: encryption !== undefined && encryption !== null };
}
