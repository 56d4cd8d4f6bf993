import { InvalidBranchOperationError } from '../exceptions';
import { itemOf, readWholeHistory } from '../history/history-reader';
import type { SessionItem } from '../interfaces';
import type { BranchInfo } from '../interfaces/branch.interface';
import type { OwnerCheck } from '../ownership/owner-check';
import type { SessionMemoryContext } from '../session-memory.context';
import { MAIN_BRANCH } from '../storage/branches/branch-view.sql';
import type { StoredRow } from '../storage/session-store';
import { guardConversation } from '../storage/conversation-limiter';
import { countUserMessages, findTurnsByContent, turnStartIndex } from '../structure/turns';
import { assertBranchId, assertTurnNumber, branchNameOf, optionsOf } from './branch-input';
import type { SessionLines } from './session-lines';

/**
 * The branch operations of one `ConversationSession` (docs/conversation-structure.md): create from a
 * turn or from content, switch, delete, list. Each checks its input first (typed errors, no I/O),
 * then the owner, then runs under the conversation's lock in the store (`BranchStore`).
 * @internal
 */
export class ConversationBranches {
  constructor(
    private readonly context: SessionMemoryContext,
    private readonly conversationId: string,
    private readonly lines: SessionLines,
    private readonly ownerCheck?: OwnerCheck,
  ) {}

  /** The branch tables must exist; main's writers must know they are in use. */
  private async ready(): Promise<void> {
    await this.context.optionalTables.require('branches');
    this.context.store.useBranches(true);
  }

  /** The branch this session acts on now: the bound one, or the current one. */
  async current(): Promise<string> {
    if (this.lines.bound !== undefined) return this.lines.bound;
    await this.ownerCheck?.access();
    return this.lines.active ? this.lines.current() : MAIN_BRANCH;
  }

  /** A new branch holding the history before user turn `turn` of the branch this session acts on; it becomes current. */
  async fromTurn(turn: unknown, options: unknown): Promise<string> {
    const method = 'createBranchFromTurn';
    assertTurnNumber(turn, method);
    const name = branchNameOf(optionsOf<{ name: string }>(options, method).name, method);
    return this.create(method, name, (items) => {
      const start = turnStartIndex(items, turn);
      if (start === undefined) {
        throw new InvalidBranchOperationError(
          `${method}: turn ${turn} does not exist on this branch of conversation ${JSON.stringify(this.conversationId)} ` +
            `(it has ${countUserMessages(items)} user turns; getConversationTurns() lists them).`,
        );
      }
      return start;
    });
  }

  /** A new branch from the first user turn whose text contains `searchTerm` (Python's `create_branch_from_content`). */
  async fromContent(searchTerm: unknown, options: unknown): Promise<string> {
    const method = 'createBranchFromContent';
    if (typeof searchTerm !== 'string' || searchTerm.length === 0 || searchTerm.length > 1000) {
      throw new InvalidBranchOperationError(`${method} expects a search term of 1 to 1000 characters.`);
    }
    const name = branchNameOf(optionsOf<{ name: string }>(options, method).name, method);
    return this.create(method, name, (items) => {
      const [first] = findTurnsByContent(items, searchTerm);
      if (!first) {
        throw new InvalidBranchOperationError(
          `${method}: no user turn of conversation ${JSON.stringify(this.conversationId)} contains ${JSON.stringify(searchTerm)}.`,
        );
      }
      return turnStartIndex(items, first.turn)!;
    });
  }

  private async create(
    method: string,
    name: string | null,
    startOf: (items: SessionItem[]) => number,
  ): Promise<string> {
    await this.ready();
    await this.ownerCheck?.write();
    const source = await this.current();
    const { codec } = this.context;
    const conversationId = this.conversationId;
    const id = await guardConversation(this.context, method, conversationId, () =>
      this.context.store.branches.create(conversationId, {
        source,
        name,
        cut: (rows: StoredRow[]) => {
          // Turns count the items that read as items (as getItems returns them); the cut is a row index.
          const items: SessionItem[] = [];
          const rowOf: number[] = [];
          rows.forEach((row, i) => {
            const item = itemOf(codec.sealing ? codec.open(conversationId, row.message_data) : row.message_data);
            if (item) {
              items.push(item);
              rowOf.push(i);
            }
          });
          const start = startOf(items);
          return { rows: rowOf[start], turn: countUserMessages(items.slice(0, start)) + 1 };
        },
      }),
    );
    this.lines.wroteTo(id);
    return id;
  }

  /** Makes `branchId` current for every process (this session follows it). */
  async switchTo(branchId: unknown): Promise<void> {
    assertBranchId(branchId, 'switchToBranch');
    await this.ready();
    await this.ownerCheck?.write();
    await guardConversation(this.context, 'switchToBranch', this.conversationId, () =>
      this.context.store.branches.switchTo(this.conversationId, branchId),
    );
    this.lines.wroteTo(branchId);
  }

  /** Deletes a branch (never main; the current one only with `force`, main then current). */
  async remove(branchId: unknown, options: unknown): Promise<void> {
    const method = 'deleteBranch';
    assertBranchId(branchId, method);
    const { force } = optionsOf<{ force: boolean }>(options, method);
    if (force !== undefined && typeof force !== 'boolean') {
      throw new InvalidBranchOperationError(`${method} force must be true or false.`);
    }
    if (branchId === MAIN_BRANCH) {
      throw new InvalidBranchOperationError(
        `${method}: the main branch cannot be deleted (deleteSession removes the conversation).`,
      );
    }
    await this.ready();
    await this.ownerCheck?.write('existing');
    await guardConversation(this.context, method, this.conversationId, () =>
      this.context.store.branches.remove(this.conversationId, branchId, force === true),
    );
    this.context.search?.touched(this.conversationId, 'removed'); // its rows' entries go
    this.lines.forget(branchId);
  }

  /** Every live branch with its counts (each branch's history is read: O(branches x history)). */
  async list(): Promise<BranchInfo[]> {
    await this.ownerCheck?.access();
    const id = this.conversationId;
    const rows = this.lines.active
      ? await guardConversation(this.context, 'listBranches', id, () => this.context.store.branches.list(id))
      : [];
    const live = rows.filter((r) => Number(r.deleted) === 0);
    const current = live.find((r) => Number(r.is_current) === 1)?.branch_id ?? MAIN_BRANCH;
    if (!live.some((r) => r.branch_id === MAIN_BRANCH)) {
      live.unshift({
        branch_id: MAIN_BRANCH,
        name: MAIN_BRANCH,
        parent_branch_id: null,
        from_turn: null,
        is_current: 0,
        deleted: 0,
        created_ms: NaN,
      });
    }
    const out: BranchInfo[] = [];
    for (const row of live) {
      const items = await guardConversation(this.context, 'listBranches', id, () =>
        readWholeHistory(this.lines.contextFor(row.branch_id), id, undefined, []),
      );
      const createdMs = Number(row.created_ms);
      out.push({
        branchId: row.branch_id,
        name: row.name ?? null,
        parentBranchId: row.parent_branch_id ?? null,
        fromTurn: row.from_turn === null || row.from_turn === undefined ? null : Number(row.from_turn),
        messageCount: items.length,
        userTurns: countUserMessages(items),
        isCurrent: row.branch_id === current,
        createdAt: Number.isFinite(createdMs) ? new Date(createdMs) : null,
      });
    }
    return out.sort((a, b) => branchOrder(a.branchId) - branchOrder(b.branchId));
  }
}

/** main first, then by number. */
function branchOrder(id: string): number {
  return id === MAIN_BRANCH ? 0 : Number(id.slice('branch-'.length));
}
