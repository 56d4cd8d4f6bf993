import { InvalidBranchOperationError } from '../exceptions';

/** A branch id as this module gives them: `main`, or `branch-<n>`. */
const BRANCH_ID = /^(main|branch-[1-9][0-9]{0,9})$/;
/** Longest branch name, in characters. */
const MAX_NAME = 255;

const shown = (value: unknown) =>
  typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value) : typeof value;

/**
 * Checks a branch id: `main`, or an id `createBranchFromTurn` / `listBranches` gave (`branch-<n>`).
 * @throws InvalidBranchOperationError otherwise (before any I/O).
 * @internal
 */
export function assertBranchId(value: unknown, method: string): asserts value is string {
  if (typeof value !== 'string' || !BRANCH_ID.test(value)) {
    throw new InvalidBranchOperationError(
      `${method} expects a branch id as listBranches() returns them ('main' or 'branch-<n>'); got ${shown(value)}.`,
    );
  }
}

/**
 * Checks a branch name: left out (`null`), or a string of 1 to 255 characters without control
 * characters or lone surrogates.
 * @throws InvalidBranchOperationError otherwise (before any I/O).
 * @internal
 */
export function branchNameOf(value: unknown, method: string): string | null {
  if (value === undefined || value === null) return null;
  const ok =
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_NAME &&
    value.trim() === value &&
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u001f\u007f]/.test(value) &&
    value.isWellFormed();
  if (!ok) {
    throw new InvalidBranchOperationError(
      `${method} name must be a string of 1 to ${MAX_NAME} characters without control characters, lone surrogates ` +
        `or surrounding spaces; got ${shown(value)}.`,
    );
  }
  if (value === 'main') {
    throw new InvalidBranchOperationError(`${method} name 'main' is the main branch's: choose another name.`);
  }
  return value;
}

/**
 * Checks a turn number: a whole number from 1.
 * @throws InvalidBranchOperationError otherwise (before any I/O).
 * @internal
 */
export function assertTurnNumber(value: unknown, method: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidBranchOperationError(
      `${method} expects a turn number (a whole number from 1, as getConversationTurns() gives); got ${shown(value)}${typeof value === 'number' ? ` (${value})` : ''}.`,
    );
  }
}

/**
 * Checks the options object of a branch call (left out, or a plain object).
 * @throws InvalidBranchOperationError otherwise.
 * @internal
 */
export function optionsOf<T extends object>(value: unknown, method: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidBranchOperationError(`${method} options must be an object; got ${shown(value)}.`);
  }
  return value as Partial<T>;
}
