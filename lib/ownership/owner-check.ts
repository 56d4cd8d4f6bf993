import { ConversationAccessDeniedError } from '../exceptions';
import type { SessionMemoryContext } from '../session-memory.context';
import { guardConversation } from '../storage/conversation-limiter';

/**
 * The ownership rule for one caller and one conversation (the `owner` option). A conversation is
 * owned by the caller whose write created it (recorded in `<sessions>_owners`, which Python readers
 * never see). Writes by another caller, and reads of an owned conversation by another caller, are
 * refused with `ConversationAccessDeniedError` (403). A conversation without a recorded owner (made
 * before ownership was turned on, or by Python) can be read by anyone, and the first caller that
 * writes to it becomes its owner. Once a check passed, the answer is kept for this object's life.
 * @internal
 */
export class OwnerCheck {
  private confirmed = false;

  constructor(
    private readonly context: SessionMemoryContext,
    private readonly conversationId: string,
    /** The caller. */
    readonly owner: string,
  ) {}

  /** Before a read: refuses a conversation another caller owns. */
  async read(): Promise<void> {
    if (this.confirmed) return;
    const { store, optionalTables } = this.context;
    await optionalTables.require('owners');
    const recorded = await this.context.gate.guard('checkOwner', () => store.readOwner(this.conversationId));
    if (recorded === undefined) return;
    if (recorded !== this.owner) throw new ConversationAccessDeniedError(this.conversationId);
    this.confirmed = true;
  }

  /** Before a write: records the caller as owner when none is, and refuses another caller's conversation. */
  async write(): Promise<void> {
    if (this.confirmed) return;
    const { store, optionalTables } = this.context;
    await optionalTables.require('owners');
    const recorded = await guardConversation(this.context, 'claimOwner', this.conversationId, () =>
      store.claimOwner(this.conversationId, this.owner),
    );
    if (recorded !== this.owner) throw new ConversationAccessDeniedError(this.conversationId);
    this.confirmed = true;
  }
}
