import { InvalidManagementOptionsError, InvalidSessionInputError } from '../exceptions';
import { assertOwnerId } from '../validation';
import type { UsageQuery } from './usage.types';

/** Longest search term `findTurnsByContent` takes. */
const MAX_SEARCH_TERM = 1000;
/** Longest branch id. */
const MAX_BRANCH_ID = 255;
/** The range every database compares (as `listSessions`' dates). */
const EARLIEST_MS = Date.UTC(1970, 0, 1);
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Options naming a branch (`{ branchId? }`) of the turns and usage reads. */
export interface BranchReadOptions {
  /** The branch to read; the current branch when left out. */
  branchId?: string;
}

const describe = (value: unknown) =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'string'
        ? JSON.stringify(value)
        : typeof value;

/**
 * Checks `{ branchId? }`: left out, or an object whose `branchId`, when given, is a non-empty string of
 * at most 255 characters without NUL. Whether the branch exists is the branch read's to say.
 * @throws InvalidSessionInputError otherwise (before any I/O).
 * @internal
 */
export function assertBranchOption(options: unknown, method: string): BranchReadOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidSessionInputError(
      `${method} options must be an object like { branchId: 'main' }; got ${describe(options)}.`,
    );
  }
  const { branchId } = options as { branchId?: unknown };
  if (
    branchId !== undefined &&
    (typeof branchId !== 'string' ||
      branchId.length === 0 ||
      branchId.length > MAX_BRANCH_ID ||
      branchId.includes('\0'))
  ) {
    throw new InvalidSessionInputError(
      `${method} branchId must be a branch id (a non-empty string of at most ${MAX_BRANCH_ID} characters without NUL); ` +
        `got ${describe(branchId)}. Leave it out for the current branch.`,
    );
  }
  return branchId === undefined ? {} : { branchId };
}

/**
 * Checks a search term: a non-empty string of at most 1000 characters.
 * @throws InvalidSessionInputError otherwise (before any I/O).
 * @internal
 */
export function assertSearchTerm(term: unknown, method: string): asserts term is string {
  if (typeof term !== 'string' || term.length === 0 || term.length > MAX_SEARCH_TERM) {
    throw new InvalidSessionInputError(
      `${method} searchTerm must be a non-empty string of at most ${MAX_SEARCH_TERM} characters; got ${
        typeof term === 'string' ? `${term.length} characters` : describe(term)
      }.`,
    );
  }
}

/**
 * Checks a turn number: a whole number from 1.
 * @throws InvalidSessionInputError otherwise (before any I/O).
 * @internal
 */
export function assertTurn(turn: unknown, method: string): asserts turn is number {
  if (typeof turn !== 'number' || !Number.isSafeInteger(turn) || turn < 1) {
    throw new InvalidSessionInputError(
      `${method} turn must be a whole number from 1 (turns count user messages from 1); got ${describe(turn)}${
        typeof turn === 'number' ? ` ${turn}` : ''
      }.`,
    );
  }
}

/** Epoch milliseconds of an optional bound, checked. */
function boundMs(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(ms) || ms < EARLIEST_MS || ms > LATEST_MS) {
    throw new InvalidManagementOptionsError(
      `getUsage ${what} must be a valid Date from 1970-01-01 to 9999-12-31 (UTC); got ${
        value instanceof Date ? 'an invalid or out-of-range Date' : describe(value)
      }. Leave it out to not bound the window on that side.`,
    );
  }
  return ms;
}

/**
 * Checks `getUsage`'s query: an optional owner (a caller id, as `session(id, { owner })` takes) and an
 * optional window `[since, until)`.
 * @throws InvalidOwnerError / InvalidManagementOptionsError otherwise (before any I/O).
 * @internal
 */
export function usageQueryOf(query: unknown): { owner?: string; sinceMs?: number; untilMs?: number } {
  if (query === undefined) return {};
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new InvalidManagementOptionsError(
      `getUsage takes an object like { owner, since, until }; got ${describe(query)}.`,
    );
  }
  const { owner, since, until } = query as UsageQuery;
  if (owner !== undefined) assertOwnerId(owner);
  const sinceMs = boundMs(since, 'since');
  const untilMs = boundMs(until, 'until');
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs) {
    throw new InvalidManagementOptionsError('getUsage since must not be after until.');
  }
  return {
    ...(owner !== undefined ? { owner } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
    ...(untilMs !== undefined ? { untilMs } : {}),
  };
}
