import type { HistoryOutcome, PopOutcome } from '../session-store';

/** One statement of a multi-statement operation; `returnsRows` for the ones whose rows are used. @internal */
export interface SqlStep {
  sql: string;
  params: unknown[];
  returnsRows: boolean;
}

/** A statement program: yields statements, receives each one's rows, returns the operation's result. @internal */
export type StatementProgram<T> = Generator<SqlStep, T, unknown[]>;

/**
 * A multi-statement operation, written once for every dialect (`*.program.ts`). A store's `runLocked`
 * runs it inside a transaction holding the conversation's session-row lock; it is called again for
 * each attempt (MySQL retries deadlocks).
 * @internal
 */
export type LockedProgram<T> = () => StatementProgram<T>;

/** How `runLocked` treats a conversation without a session row, and when it commits. @internal */
export interface LockedOptions<T> {
  /** Answers without running the program (or writing anything) when the session row is missing. Default: create it and run. */
  ifMissing?: () => T;
  /** Commits only when this is true of the program's result (default: always); rolls back otherwise. */
  keep?: (result: T) => boolean;
}

/**
 * Runs a statement program with a statement runner: synchronously when `exec` returns rows (SQLite),
 * asynchronously from the first step that returns a promise (PostgreSQL, MySQL).
 * @internal
 */
export function driveProgram<T>(program: StatementProgram<T>, exec: (step: SqlStep) => unknown[]): T;
export function driveProgram<T>(program: StatementProgram<T>, exec: (step: SqlStep) => Promise<unknown[]>): Promise<T>;
export function driveProgram<T>(
  program: StatementProgram<T>,
  exec: (step: SqlStep) => unknown[] | Promise<unknown[]>,
): T | Promise<T> {
  let next = program.next([]);
  while (!next.done) {
    const rows = exec(next.value);
    if (rows instanceof Promise) return continueAsync(program, rows, exec);
    next = program.next(rows);
  }
  return next.value;
}

async function continueAsync<T>(
  program: StatementProgram<T>,
  pending: Promise<unknown[]>,
  exec: (step: SqlStep) => unknown[] | Promise<unknown[]>,
): Promise<T> {
  let next = program.next(await pending);
  while (!next.done) next = program.next(await exec(next.value));
  return next.value;
}

/** Whether a pop is to be committed: not when it was refused (rows no key opens stood first). @internal */
export const popCommits = (outcome: PopOutcome<unknown>): boolean => outcome.unopenable === undefined;

/** Whether a history outcome is to be committed. @internal */
export const isApplied = (outcome: HistoryOutcome): boolean => outcome.status === 'applied';
