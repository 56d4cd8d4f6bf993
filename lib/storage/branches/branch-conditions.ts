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
 * The condition that no branch of the conversation inherits rows of main (main's rows may then be
 * deleted in place): what the one-statement pops check when the branch tables are in use.
 * @internal
 */
export function noBranchInheritsMain(names: TableNames, sessionPlaceholder: string): string {
  return (
    `NOT EXISTS (SELECT 1 FROM ${names.branchSegments} g WHERE g.session_id = ${sessionPlaceholder} ` +
    `AND g.source_id = '${MAIN_BRANCH}')`
  );
}
