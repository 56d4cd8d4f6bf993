import type { RunContext } from '@openai/agents-core';
import type { SessionItem } from '../interfaces';
import type { OwnerCheck } from '../ownership/owner-check';
import type { SessionMemoryContext } from '../session-memory.context';
import { noteWrote } from './run-usage';
import { BranchReadOptions, assertBranchOption, assertSearchTerm, assertTurn } from './structure-input';
import {
  ConversationTurn,
  ToolUsage,
  TurnItems,
  conversationTurns,
  countUserMessages,
  findTurnsByContent,
  itemsByTurns,
  toolUsage,
} from './turns';
import {
  UsageTarget,
  readSessionUsage,
  readTurnUsage,
  recordRunUsageQuietly,
  runContextOf,
  storeRunUsage,
} from './usage-operations';
import type { SessionUsage, TurnUsage } from './usage.types';

/** What the turns and usage of one conversation need of its `ConversationSession`. @internal */
export interface StructureHost {
  readonly conversationId: string;
  /** The caller the session was opened for, if any. */
  readonly owner: string | undefined;
  /** The history of `branchId` (the current branch when left out), owner-checked. */
  history(branchId?: string): Promise<SessionItem[]>;
  /**
   * The same history with when each item was stored (its row's `created_at`, by index), where the
   * session can read it: fills the turns' `timestamp`. Without it, turns have no timestamp.
   */
  timedHistory?(branchId?: string): Promise<{ items: SessionItem[]; timestamps: readonly (Date | undefined)[] }>;
  /** `branchId`, or the current branch when left out. */
  branchId(branchId?: string): Promise<string>;
  /** The branch a run writes to (the one it read). */
  runBranch(runContext: RunContext<unknown>): Promise<string>;
}

/**
 * The turns and usage methods of `ConversationSession` (which delegates to this, one line each):
 * validation first (typed errors before any I/O), then the history read (turns: pure functions over
 * it, turns.ts) or the usage table (usage-operations.ts).
 * @internal
 */
export class ConversationStructure {
  constructor(
    private readonly context: SessionMemoryContext,
    private readonly ownerCheck: OwnerCheck | undefined,
    private readonly host: StructureHost,
  ) {}

  private history(options: unknown, method: string): Promise<SessionItem[]> {
    return this.host.history(assertBranchOption(options, method).branchId);
  }

  /** The history of a branch with its timestamps where the host has them. */
  private async timed(branchId: string | undefined) {
    if (this.host.timedHistory) return this.host.timedHistory(branchId);
    return { items: await this.host.history(branchId), timestamps: undefined };
  }

  async turns(options: BranchReadOptions | undefined): Promise<ConversationTurn[]> {
    const { items, timestamps } = await this.timed(assertBranchOption(options, 'getConversationTurns').branchId);
    return conversationTurns(items, timestamps);
  }

  async byTurns(options: BranchReadOptions | undefined): Promise<TurnItems[]> {
    return itemsByTurns(await this.history(options, 'getConversationByTurns'));
  }

  async toolUsage(options: BranchReadOptions | undefined): Promise<ToolUsage[]> {
    return toolUsage(await this.history(options, 'getToolUsage'));
  }

  async find(searchTerm: unknown, options: BranchReadOptions | undefined): Promise<ConversationTurn[]> {
    assertSearchTerm(searchTerm, 'findTurnsByContent');
    const branch = assertBranchOption(options, 'findTurnsByContent');
    const { items, timestamps } = await this.timed(branch.branchId);
    return findTurnsByContent(items, searchTerm, timestamps);
  }

  async storeRunUsage(result: unknown): Promise<void> {
    const runContext = runContextOf(result); // refused here, before any I/O
    await storeRunUsage(this.context, await this.target(runContext), runContext, this.ownerCheck);
  }

  async sessionUsage(options: BranchReadOptions | undefined): Promise<SessionUsage> {
    const { branchId } = assertBranchOption(options, 'getSessionUsage');
    return readSessionUsage(this.context, this.host.conversationId, branchId, this.ownerCheck);
  }

  async turnUsage(turn: unknown, options: BranchReadOptions | undefined): Promise<TurnUsage | TurnUsage[] | undefined> {
    if (turn !== undefined) assertTurn(turn, 'getTurnUsage');
    const branchId = await this.host.branchId(assertBranchOption(options, 'getTurnUsage').branchId);
    const turns = await readTurnUsage(this.context, this.host.conversationId, branchId, turn, this.ownerCheck);
    return turn === undefined ? turns : turns[0];
  }

  /** The automatic usage record of a runner's save to `branchId` (`addItems(items, runContext)`): never throws. */
  async recordRun(items: readonly SessionItem[], runContext: RunContext<unknown>, branchId: string): Promise<void> {
    noteWrote(runContext, this.host.conversationId, items);
    await recordRunUsageQuietly(this.context, this.targetOn(branchId), runContext);
  }

  /** Where a run's usage is recorded: the branch it wrote to. */
  private async target(runContext: RunContext<unknown>): Promise<UsageTarget> {
    return this.targetOn(await this.host.runBranch(runContext));
  }

  private targetOn(branchId: string): UsageTarget {
    return {
      conversationId: this.host.conversationId,
      branchId,
      owner: this.host.owner,
      userMessagesNow: async () => countUserMessages(await this.host.history(branchId)),
    };
  }
}
