import type { RunContext } from '@openai/agents-core';
import { assertBranchId } from './branches/branch-input';
import { ConversationBranches } from './branches/conversation-branches';
import { readWholeHistory } from './history/history-reader';
import { guardConversation } from './storage/conversation-limiter';
import type { SessionLines } from './branches/session-lines';
import type { SessionItem } from './interfaces';
import type { BranchInfo, CreateBranchOptions, DeleteBranchOptions } from './interfaces/branch.interface';
import { MetadataWrite, getMetadata, planMetadataWrite, writeMetadata } from './management/metadata-operations';
import type { SessionMetadata } from './management/session-metadata';
import type { OwnerCheck } from './ownership/owner-check';
import type { SessionMemoryContext } from './session-memory.context';
import { ConversationStructure } from './structure/conversation-structure';
import type { BranchReadOptions } from './structure/structure-input';
import type { ConversationTurn, ToolUsage, TurnItems } from './structure/turns';
import type { SessionUsage, TurnUsage } from './structure/usage.types';

/**
 * What a `ConversationSession` offers beside the Agents SDK `Session` contract: its identity and
 * owner, metadata, branches (edit and regenerate), turns and usage (docs/conversation-structure.md).
 * Each method checks its input, then the owner, then delegates (lib/branches, lib/structure,
 * lib/management). The history operations themselves are `ConversationSession`'s.
 */
export abstract class StructuredConversation {
  /** @internal */
  protected constructor(
    /** The conversation id (validated). */
    readonly conversationId: string,
    /** @internal */
    protected readonly context: SessionMemoryContext,
    /** @internal The caller's ownership check, for a session opened for an owner. */
    protected readonly ownerCheck: OwnerCheck | undefined,
    /** @internal Which branch each call acts on (lib/branches/session-lines.ts). */
    protected readonly lines: SessionLines,
  ) {}

  /** The newest `limit` items of the branch this session reads (see `ConversationSession.getItems`). */
  abstract getItems(limit?: number, runContext?: RunContext<unknown>): Promise<SessionItem[]>;

  /** A session bound to `branchId` (see `ConversationSession.onBranch`). */
  abstract onBranch(branchId: string): StructuredConversation;

  /** The caller this session was opened for (`session(id, { owner })`, or the module's `owner` option), if any. */
  get owner(): string | undefined {
    return this.ownerCheck?.owner;
  }

  /**
   * Checks now that the caller may read this conversation (what `@Conversation()` does before the
   * handler runs). A no-op for a session opened without an owner.
   * @throws ConversationAccessDeniedError when another caller owns it.
   * @internal
   */
  async checkAccess(): Promise<void> {
    await this.ownerCheck?.access();
  }

  /** Returns the conversation id. */
  async getSessionId(): Promise<string> {
    return this.conversationId;
  }

  /** The conversation's metadata (a JSON object), or `undefined` when it has none. */
  async getMetadata(): Promise<SessionMetadata | undefined> {
    return getMetadata(this.context, this.conversationId, this.ownerCheck);
  }

  /**
   * Replaces the conversation's metadata (a JSON object of at most 64 KiB; `null` removes it),
   * creating the conversation if needed. Filter on it with `listSessions({ metadata })`.
   * @throws InvalidSessionMetadataError when it is not a plain JSON object within the limit.
   */
  async setMetadata(metadata: SessionMetadata | null): Promise<void> {
    const write = await planMetadataWrite(this.context, this.conversationId, metadata);
    if (await this.mayWrite(write)) await writeMetadata(this.context, write);
  }

  /**
   * The owner check of a metadata write: false when it has nothing to do (removing the metadata of no conversation).
   * @internal
   */
  protected async mayWrite(write: MetadataWrite): Promise<boolean> {
    return (await this.ownerCheck?.write(write.kind)) !== 'absent';
  }

  // ---- branches (lib/branches/conversation-branches.ts; docs/conversation-structure.md)

  /**
   * Starts a branch holding this branch's history before user turn `turn` ("edit that message and ask
   * again"): no item is copied. It becomes the current branch (for every process) and this session's
   * next `addItems` continues it. Returns its id (`'branch-<n>'`, never reused in the conversation).
   * @throws InvalidBranchOperationError for a turn that does not exist, or a name in use (nothing written).
   */
  createBranchFromTurn(turn: number, options?: CreateBranchOptions): Promise<string> {
    return this.branches.fromTurn(turn, options);
  }

  /** `createBranchFromTurn` at the first user turn whose text contains `searchTerm` (any case). Python's `create_branch_from_content`. */
  createBranchFromContent(searchTerm: string, options?: CreateBranchOptions): Promise<string> {
    return this.branches.fromContent(searchTerm, options);
  }

  /** Makes `branchId` (`'main'` or an id `listBranches()` gives) the current branch, for every process. @throws BranchNotFoundError */
  switchToBranch(branchId: string): Promise<void> {
    return this.branches.switchTo(branchId);
  }

  /**
   * Deletes a branch and its own items (branches started from it keep their history). Never `'main'`;
   * the current branch only with `{ force: true }`, which makes main current. Its id is not reused.
   * @throws BranchNotFoundError, InvalidBranchOperationError
   */
  deleteBranch(branchId: string, options?: DeleteBranchOptions): Promise<void> {
    return this.branches.remove(branchId, options);
  }

  /** The conversation's branches (main first), each with its counts and whether it is current. */
  listBranches(): Promise<BranchInfo[]> {
    return this.branches.list();
  }

  /** The branch this session acts on: its own (`onBranch`), else the conversation's current branch. */
  getCurrentBranch(): Promise<string> {
    return this.branches.current();
  }

  private branchesOf?: ConversationBranches;
  private get branches(): ConversationBranches {
    return (this.branchesOf ??= new ConversationBranches(
      this.context,
      this.conversationId,
      this.lines,
      this.ownerCheck,
    ));
  }

  // ---- turns and usage (lib/structure/conversation-structure.ts; docs/conversation-structure.md)

  /** The user turns of the current branch (or `branchId`), from 1; `content`: the first 100 characters. Python's `get_conversation_turns`. */
  getConversationTurns(options?: BranchReadOptions): Promise<ConversationTurn[]> {
    return this.structure.turns(options);
  }

  /** The history of the current branch (or `branchId`) grouped by turn, each item's type and tool name (turn 0: before the first user message). */
  getConversationByTurns(options?: BranchReadOptions): Promise<TurnItems[]> {
    return this.structure.byTurns(options);
  }

  /** Tool calls per tool and turn on the current branch (or `branchId`), by turn. Python's `get_tool_usage`. */
  getToolUsage(options?: BranchReadOptions): Promise<ToolUsage[]> {
    return this.structure.toolUsage(options);
  }

  /** The user turns whose text contains `searchTerm` (any case, literal), `content` the whole text. @throws InvalidSessionInputError for an empty term. */
  findTurnsByContent(searchTerm: string, options?: BranchReadOptions): Promise<ConversationTurn[]> {
    return this.structure.find(searchTerm, options);
  }

  /** Records a run's usage now (Python's `store_run_usage`); the runner's saves already do, under the same key. @throws InvalidSessionInputError for a non-result. */
  storeRunUsage(result: { readonly runContext: RunContext<any> }): Promise<void> {
    return this.structure.storeRunUsage(result);
  }

  /** Usage totals of the whole conversation (every branch) or of `branchId`, and `totalTurns`; zeros when none. */
  getSessionUsage(options?: BranchReadOptions): Promise<SessionUsage> {
    return this.structure.sessionUsage(options);
  }

  /** Each turn's usage on the current branch (or `branchId`), or `turn`'s (`undefined`: none). @throws InvalidSessionInputError for a turn < 1. */
  getTurnUsage(turn: number, options?: BranchReadOptions): Promise<TurnUsage | undefined>;
  getTurnUsage(turn?: undefined, options?: BranchReadOptions): Promise<TurnUsage[]>;
  getTurnUsage(turn?: number, options?: BranchReadOptions): Promise<TurnUsage | TurnUsage[] | undefined> {
    return this.structure.turnUsage(turn, options);
  }

  private structureOf?: ConversationStructure;
  /** What the turns and usage methods delegate to (made on first use). @internal */
  protected get structure(): ConversationStructure {
    return (this.structureOf ??= new ConversationStructure(this.context, this.ownerCheck, {
      conversationId: this.conversationId,
      owner: this.owner,
      history: (branchId) => this.historyFor(branchId),
      timedHistory: (branchId) => this.timedHistoryFor(branchId),
      branchId: (branchId) => this.branchIdFor(branchId),
      runBranch: (run) => this.lines.forWrite(run),
    }));
  }

  /** `branchId`, or the branch this session acts on when left out. */
  private async branchIdFor(branchId?: string): Promise<string> {
    return branchId ?? this.branches.current();
  }

  /** The history of `branchId` (the branch this session reads when left out). */
  private historyFor(branchId?: string): Promise<SessionItem[]> {
    return branchId === undefined ? this.getItems() : this.onBranch(branchId).getItems();
  }

  /** The history of `branchId` (or the branch this session reads) with when each item was stored. */
  private async timedHistoryFor(
    branchId?: string,
  ): Promise<{ items: SessionItem[]; timestamps: (Date | undefined)[] }> {
    if (branchId !== undefined) assertBranchId(branchId, 'getConversationTurns');
    const branch = branchId ?? (await this.branches.current()); // checks the owner
    if (branchId !== undefined) await this.ownerCheck?.access();
    const id = this.conversationId;
    const ids: (number | string)[] = [];
    const [items, times] = await guardConversation(this.context, 'getConversationTurns', id, () =>
      Promise.all([
        readWholeHistory(this.lines.contextFor(branch), id, undefined, ids),
        this.context.store.branches.times(id, branch),
      ]),
    );
    const timestamps = ids.map((rowId) => {
      const ms = times.get(String(rowId));
      return ms === undefined ? undefined : new Date(ms);
    });
    return { items, timestamps };
  }
}
