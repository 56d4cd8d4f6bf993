import type { BranchInfo } from '../../../lib';

/** The fields of `listBranches()` the versions rule reads. */
export type BranchLink = Pick<BranchInfo, 'branchId' | 'parentBranchId' | 'fromTurn' | 'userTurns'>;

/** The versions of one user turn, as the page's `< index / count >` control shows them. */
export interface TurnVersions {
  /** The branch to switch to for each version, in the order shown (the original first). */
  branchIds: string[];
  /** Which of them the current branch shows (1-based, as displayed). */
  index: number;
}

/**
 * The branch that gave `branch` its turns before `turn`: `branch` itself, or, while the branch was
 * created from a turn at or after `turn`, its parent (whose history before that turn it holds), and
 * so on up. A branch whose parent was deleted keeps a copy of its history and counts as its own source.
 */
function sourceBefore(branch: BranchLink, turn: number, byId: ReadonlyMap<string, BranchLink>): BranchLink {
  let at = branch;
  for (;;) {
    if (at.fromTurn === null || at.fromTurn < turn || at.parentBranchId === null) return at;
    const parent = byId.get(at.parentBranchId);
    if (!parent) return at;
    at = parent;
  }
}

/**
 * The branch whose own turn `turn` the branch `branchId` shows: itself, or the ancestor it inherited
 * that turn from (a branch holds its parent's turns before the turn it was created from, numbered
 * the same). Where that turn's usage was recorded. `branchId` itself when it is not listed.
 */
export function branchOfTurn(branches: readonly BranchLink[], branchId: string, turn: number): string {
  const byId = new Map(branches.map((b) => [b.branchId, b]));
  const branch = byId.get(branchId);
  return branch ? sourceBefore(branch, turn + 1, byId).branchId : branchId;
}

/** `'branch-12'` -> 12, so that versions show in the order they were made. */
function creationOrder(branchId: string): number {
  const match = /^branch-(\d+)$/.exec(branchId);
  return match ? Number(match[1]) : 0;
}

/**
 * The versions of each user turn of `currentBranchId` (1 to `turns`), for the turns that have more than
 * one. The rule (sample/README.md, "Versions of a message"):
 *
 * - two branches show the same history before turn `t` when the same branch gave both their turns
 *   before `t` (`sourceBefore(x, t)`);
 * - among the branches that share the current branch's history before `t`, the ones that gave them
 *   turn `t` itself (`sourceBefore(x, t + 1)`: the original line, or a branch created from turn `t`)
 *   are the versions of turn `t`, original first, then in the order they were created; a branch that
 *   has no turn `t` of its own yet (an edit whose reply never came) is left out.
 *
 * Switching to a version switches to that branch, so its own later turns (if any) come with it.
 */
export function turnVersions(
  branches: readonly BranchLink[],
  currentBranchId: string,
  turns: number,
): Map<number, TurnVersions> {
  const byId = new Map(branches.map((b) => [b.branchId, b]));
  const result = new Map<number, TurnVersions>();
  const current = byId.get(currentBranchId);
  if (!current) return result;
  for (let turn = 1; turn <= turns; turn++) {
    const shared = sourceBefore(current, turn, byId);
    const versions = new Map<string, BranchLink>();
    for (const branch of branches) {
      if (sourceBefore(branch, turn, byId) !== shared) continue;
      const version = sourceBefore(branch, turn + 1, byId);
      if (version.userTurns >= turn) versions.set(version.branchId, version);
    }
    if (versions.size < 2) continue;
    const ordered = [...versions.values()].sort((a, b) =>
      a === shared ? -1 : b === shared ? 1 : creationOrder(a.branchId) - creationOrder(b.branchId),
    );
    const shown = sourceBefore(current, turn + 1, byId).branchId;
    result.set(turn, {
      branchIds: ordered.map((b) => b.branchId),
      index: ordered.findIndex((b) => b.branchId === shown) + 1,
    });
  }
  return result;
}
