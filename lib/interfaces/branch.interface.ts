/**
 * One branch of a conversation, as `ConversationSession.listBranches()` returns it
 * (docs/conversation-structure.md).
 */
export interface BranchInfo {
  /** `'main'`, or the id `createBranchFromTurn` returned (`'branch-<n>'`, never reused in a conversation). */
  branchId: string;
  /** The name given at creation (`'main'` for main), or `null`. */
  name: string | null;
  /** The branch it was created from (`null` for main). */
  parentBranchId: string | null;
  /** The user turn it was created from: it holds the history before that turn (`null` for main). */
  fromTurn: number | null;
  /** Items in its history (inherited ones included). */
  messageCount: number;
  /** User turns in its history. */
  userTurns: number;
  /** Whether it is the conversation's current branch (stored: the same in every process). */
  isCurrent: boolean;
  /** When it was created by the database clock (`null` for a main branch that has no row yet: never branched). */
  createdAt: Date | null;
}

/** Options of `createBranchFromTurn` / `createBranchFromContent`. */
export interface CreateBranchOptions {
  /** A name to show (unique among the conversation's live branches; not `'main'`). */
  name?: string;
}

/** Options of `deleteBranch`. */
export interface DeleteBranchOptions {
  /** Delete the current branch too (main becomes current). */
  force?: boolean;
}
