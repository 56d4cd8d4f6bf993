import { BranchLink, branchOfTurn, turnVersions } from '../src/structure/turn-versions';

/**
 * The chat page's `< i / n >` rule (sample/src/structure/turn-versions.ts): which branches are the
 * versions of a turn, in which order, and which one the current branch shows.
 */
describe('turnVersions (the versions of each turn of the current branch)', () => {
  // main has 3 turns. Turn 2 of main was edited twice (branch-1, branch-2); on branch-1, turn 1 was
  // edited (branch-3); turn 3 of main was edited but never answered (branch-4).
  const branches: BranchLink[] = [
    { branchId: 'main', parentBranchId: null, fromTurn: null, userTurns: 3 },
    { branchId: 'branch-1', parentBranchId: 'main', fromTurn: 2, userTurns: 2 },
    { branchId: 'branch-2', parentBranchId: 'main', fromTurn: 2, userTurns: 3 },
    { branchId: 'branch-3', parentBranchId: 'branch-1', fromTurn: 1, userTurns: 1 },
    { branchId: 'branch-4', parentBranchId: 'main', fromTurn: 3, userTurns: 2 },
  ];
  const asObject = (map: Map<number, unknown>) => Object.fromEntries(map);

  it('on main: turn 2 has three versions, main showing the first (turn 1: two); an edit with no answer is no version', () => {
    expect(asObject(turnVersions(branches, 'main', 3))).toEqual({
      1: { branchIds: ['main', 'branch-3'], index: 1 },
      2: { branchIds: ['main', 'branch-1', 'branch-2'], index: 1 },
    });
  });

  it('on a branch: its own turn is the version shown; turns it inherits list the edits made from them', () => {
    expect(asObject(turnVersions(branches, 'branch-1', 2))).toEqual({
      // branch-3 re-asked turn 1 from branch-1, whose turn 1 is main's: a version of main's turn 1.
      1: { branchIds: ['main', 'branch-3'], index: 1 },
      2: { branchIds: ['main', 'branch-1', 'branch-2'], index: 2 },
    });
    expect(asObject(turnVersions(branches, 'branch-2', 3))).toEqual({
      1: { branchIds: ['main', 'branch-3'], index: 1 },
      2: { branchIds: ['main', 'branch-1', 'branch-2'], index: 3 },
    });
    expect(asObject(turnVersions(branches, 'branch-3', 1))).toEqual({
      1: { branchIds: ['main', 'branch-3'], index: 2 },
    });
  });

  it('a branch whose parent was deleted counts as its own line; an unknown current branch has no versions', () => {
    const orphan: BranchLink = { branchId: 'branch-5', parentBranchId: 'branch-9', fromTurn: 2, userTurns: 2 };
    expect(asObject(turnVersions([...branches, orphan], 'branch-5', 2))).toEqual({});
    expect(asObject(turnVersions(branches, 'branch-77', 3))).toEqual({});
  });

  it('versions show in creation order (branch-10 after branch-9), the original first', () => {
    const many: BranchLink[] = [
      { branchId: 'main', parentBranchId: null, fromTurn: null, userTurns: 1 },
      { branchId: 'branch-10', parentBranchId: 'main', fromTurn: 1, userTurns: 1 },
      { branchId: 'branch-9', parentBranchId: 'main', fromTurn: 1, userTurns: 1 },
    ];
    expect(turnVersions(many, 'branch-10', 1).get(1)).toEqual({
      branchIds: ['main', 'branch-9', 'branch-10'],
      index: 3,
    });
  });

  it('branchOfTurn: the branch whose own turn a branch shows (where its usage was recorded)', () => {
    expect([1, 2].map((t) => branchOfTurn(branches, 'branch-1', t))).toEqual(['main', 'branch-1']);
    expect([1, 2, 3].map((t) => branchOfTurn(branches, 'branch-2', t))).toEqual(['main', 'branch-2', 'branch-2']);
    expect(branchOfTurn(branches, 'branch-3', 1)).toBe('branch-3');
    expect([1, 2, 3].map((t) => branchOfTurn(branches, 'main', t))).toEqual(['main', 'main', 'main']);
    expect(branchOfTurn(branches, 'branch-77', 1)).toBe('branch-77');
  });
});
