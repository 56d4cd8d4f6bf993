import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Post, Put } from '@nestjs/common';
import {
  BranchNotFoundError,
  Conversation,
  ConversationSession,
  SessionMemoryConfigurationError,
  TurnUsage,
  UsageTotals,
} from '../../lib';
import { branchOfTurn, turnVersions } from './structure/turn-versions';

/** Requests and tokens of a reply or a conversation, as the page shows them. */
export type TokenCounts = Pick<UsageTotals, 'requests' | 'inputTokens' | 'outputTokens' | 'totalTokens'>;

/** One user turn of the current branch, as `GET /conversations/:id/turns` lists it. */
export interface TurnEntry {
  /** 1 for the first user message of the branch, 2 for the second, ... */
  turn: number;
  /** The start of the user's message (first 100 characters), for the turn list. */
  content: string;
  /** The whole message (the page checks that it labels the message it thinks it does). */
  fullContent: string;
  timestamp: Date | null;
  /** The versions of this turn (`< index / count >`), or null when it has only one. */
  versions: { index: number; count: number; branchIds: string[] } | null;
  /** What the reply to this turn used, or null when nothing was recorded (a reply still streaming). */
  usage: TokenCounts | null;
}

/** The answer of `GET /conversations/:id/turns`. */
export interface ConversationTurns {
  conversationId: string;
  /** The branch the conversation shows now (the stored current branch: the same in every tab). */
  branchId: string;
  turns: TurnEntry[];
  /** What the whole conversation used, every branch included, and the turns with usage (null: no usage table). */
  usage: (TokenCounts & { totalTurns: number }) | null;
}

const tokensOf = (u: UsageTotals): TokenCounts => ({
  requests: u.requests,
  inputTokens: u.inputTokens,
  outputTokens: u.outputTokens,
  totalTokens: u.totalTokens,
});

/** Usage is read from an optional table: without it (tables made by an older migration), no tokens are shown. */
async function withoutUsageTable<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof SessionMemoryConfigurationError) return null;
    throw err;
  }
}

/**
 * Edit a message, switch between its versions, the turn list and the tokens used (the chat page's
 * sample/public/structure.js). An edit is a branch: `createBranchFromTurn(turn)` makes a branch holding
 * the history before that turn and makes it current, so the reply the page then asks for
 * (`POST /conversations/:id/replies`) continues it. The current branch is stored, so a reload, another
 * tab or another server process shows the same version. `@Conversation()` refuses another caller's
 * conversation with 403 before any of these run.
 */
@Controller('conversations')
export class BranchesController {
  /**
   * The user turns of the current branch with their versions and the tokens each reply used (a turn
   * the branch inherited: as recorded on the branch it came from), and the conversation's total. Read from one branch (`onBranch`), so a switch by another tab meanwhile does
   * not mix two branches in one answer.
   */
  @Get(':id/turns')
  async turns(@Conversation() session: ConversationSession): Promise<ConversationTurns> {
    const branchId = await session.getCurrentBranch();
    const branch = session.onBranch(branchId);
    const [turns, turnUsage, branches, usage] = await Promise.all([
      branch.getConversationTurns(),
      withoutUsageTable(branch.getTurnUsage()),
      session.listBranches(),
      withoutUsageTable(session.getSessionUsage()),
    ]);
    const versions = turnVersions(branches, branchId, turns.length);
    // A turn inherited from another branch had its usage recorded there: read it from that branch.
    const usageOf = new Map<string, Promise<TurnUsage[] | null>>([[branchId, Promise.resolve(turnUsage)]]);
    const usageByTurn = new Map<number, TurnUsage>();
    for (const t of turns) {
      const owner = branchOfTurn(branches, branchId, t.turn);
      if (!usageOf.has(owner)) usageOf.set(owner, withoutUsageTable(session.onBranch(owner).getTurnUsage()));
      const found = (await usageOf.get(owner))?.find((u) => u.turn === t.turn);
      if (found) usageByTurn.set(t.turn, found);
    }
    return {
      conversationId: session.conversationId,
      branchId,
      turns: turns.map((t) => {
        const v = versions.get(t.turn);
        const u = usageByTurn.get(t.turn);
        return {
          turn: t.turn,
          content: t.content,
          fullContent: t.fullContent,
          timestamp: t.timestamp ?? null,
          versions: v ? { index: v.index, count: v.branchIds.length, branchIds: v.branchIds } : null,
          usage: u ? tokensOf(u) : null,
        };
      }),
      usage: usage ? { ...tokensOf(usage), totalTurns: usage.totalTurns } : null,
    };
  }

  /**
   * Edit user turn `turn`: a new branch holding the history before it becomes current. The page then
   * sends the edited text as a new message (`POST :id/replies`), which continues the new branch.
   * A turn that does not exist is a 400 (`InvalidBranchOperationError`), nothing written.
   */
  @Post(':id/branches')
  @HttpCode(201)
  async edit(
    @Conversation() session: ConversationSession,
    @Body() body: { turn?: unknown } | undefined,
  ): Promise<{ conversationId: string; branchId: string }> {
    const turn = body?.turn;
    if (typeof turn !== 'number' || !Number.isSafeInteger(turn) || turn < 1) {
      throw new BadRequestException('Send a JSON body {"turn": n}: the user turn to edit, from 1.');
    }
    const branchId = await session.createBranchFromTurn(turn);
    return { conversationId: session.conversationId, branchId };
  }

  /** Shows another version: makes `branchId` the conversation's current branch (for every tab). 404 for an unknown branch. */
  @Put(':id/branch')
  async switchBranch(
    @Conversation() session: ConversationSession,
    @Body() body: { branchId?: unknown } | undefined,
  ): Promise<{ conversationId: string; branchId: string }> {
    const branchId = body?.branchId;
    if (typeof branchId !== 'string' || branchId === '') {
      throw new BadRequestException('Send a JSON body {"branchId": "..."}: an id GET /conversations/:id/turns gave.');
    }
    try {
      await session.switchToBranch(branchId);
    } catch (err) {
      if (err instanceof BranchNotFoundError) throw new NotFoundException(err.message);
      throw err;
    }
    return { conversationId: session.conversationId, branchId };
  }
}
