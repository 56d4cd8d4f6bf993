import type { TableNames } from '../table-names';
import { MAIN_BRANCH } from './branch-view.sql';

/**
 * The condition that main is the conversation's current branch (no other branch is marked current),
 * the conversation id bound at `sessionPlaceholder`: what an append that follows the current branch
 * checks in the same statement.
 * @internal
 */
export function mainIsCurrent(names: TableNames, sessionPlaceholder: string): string {
  return (
    `NOT EXISTS (SELECT 1 FROM ${names.branches} c WHERE c.session_id = ${sessionPlaceholder} ` +
    `AND c.is_current = 1 AND c.branch_id <> '${MAIN_BRANCH}')`
  );
}

/**
 * The condition that the conversation has no branch at all (no row in the branches table: every
 * conversation that ever had a branch has one, `main`'s included, and keeps it until it is deleted,
 * and segments are only written for branches). Then no branch inherits main's rows and main is
 * current, so main's newest row may be deleted in place: what the one-statement pops check when the
 * branch tables are in use (one table to look at; a conversation with branches takes the locked pop).
 * @internal
 */
export function noBranches(names: TableNames, sessionPlaceholder: string): string {
  return `NOT EXISTS (SELECT 1 FROM ${names.branches} b WHERE b.session_id = ${sessionPlaceholder})`;
}
