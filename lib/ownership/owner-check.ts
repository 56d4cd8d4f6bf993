import { ConversationAccessDeniedError } from '../exceptions';
import type { SessionMemoryContext } from '../session-memory.context';
import { guardConversation } from '../storage/conversation-limiter';
import type { OwnerFilter, Ownership } from '../storage/session-store';
import type { UnownedConversations } from './unowned-conversations';

/**
 * What a write does to the conversation: `create`s it when missing (an append, a metadata write, a
 * compaction, a history transaction), or changes only an `existing` one (a pop, a clear, a rewrite,
 * a delete, removing metadata), which then claims nothing when there is none.
 * @internal
 */
export type OwnerWriteKind = 'create' | 'existing';

/** The outcome of a write check: go on, or `absent`: there is no conversation and the write has nothing to do. @internal */
export type OwnerWriteAccess = 'allowed' | 'absent';

/**
 * The ownership rule for one caller and one conversation (the `owner` option, `{ owner }` of the
 * service's calls). A conversation is owned by the caller whose write created it (recorded in
 * `<sessions>_owners`, which Python readers never see). Another caller is refused with
 * `ConversationAccessDeniedError` (403). A conversation without a recorded owner (made before
 * ownership was turned on, or by Python) follows `unownedConversations`: `'claim'` (anyone reads it,
 * the first owner-scoped write makes its caller the owner) or `'deny'` (refused until
 * `assignOwner`). A conversation that does not exist yet is created and claimed by its first writer.
 *
 * Nothing is remembered between calls: the answer holds for the conversation as it is at that call,
 * so a conversation deleted and created again by someone else is theirs. A read carries the rule in
 * its own statement (`read`); a write checks before it runs (`write`).
 * @internal
 */
export class OwnerCheck {
  constructor(
    private readonly context: SessionMemoryContext,
    private readonly conversationId: string,
    /** The caller. */
    readonly owner: string,
  ) {}

  private get rule(): UnownedConversations {
    return this.context.unownedConversations;
  }

  /** The condition an owner-checked statement carries for this caller. */
  get filter(): OwnerFilter {
    return { owner: this.owner, unowned: this.rule === 'claim' ? 'readable' : 'hidden' };
  }

  /**
   * Runs `attempt` (one statement carrying `filter`, so that the check and the read are one atomic
   * step). A result that `isEmpty` may mean "refused" or "really empty": the recorded owner decides,
   * and the read is tried once more when the owner turns out to be the caller (claimed meanwhile).
   * @throws ConversationAccessDeniedError when the caller may not read the conversation.
   */
  async read<T>(attempt: (filter: OwnerFilter) => Promise<T>, isEmpty: (result: T) => boolean): Promise<T> {
    await this.context.optionalTables.require('owners');
    const first = await attempt(this.filter);
    if (!isEmpty(first)) return first;
    const ownership = await this.ownership();
    if (ownership.owner === this.owner) return attempt(this.filter);
    this.refuseUnlessReadable(ownership);
    return first;
  }

  /**
   * Resolves when the caller may read the conversation now, without reading it.
   * @throws ConversationAccessDeniedError when it may not.
   */
  async access(): Promise<void> {
    await this.context.optionalTables.require('owners');
    const ownership = await this.ownership();
    if (ownership.owner !== this.owner) this.refuseUnlessReadable(ownership);
  }

  /**
   * Before a write, on every call: reads the recorded owner (one indexed statement); only when none
   * is recorded, claims the conversation for the caller under its lock (`'claim'`, or a conversation
   * that does not exist yet).
   * @returns `absent` for an `existing` write of a conversation that does not exist (nothing to do, nothing claimed).
   * @throws ConversationAccessDeniedError when another caller owns it, or nobody does and the rule is `'deny'`.
   */
  async write(kind: OwnerWriteKind = 'create'): Promise<OwnerWriteAccess> {
    await this.context.optionalTables.require('owners');
    const { exists, owner } = await this.ownership();
    if (owner === this.owner) return 'allowed';
    if (owner !== undefined) throw new ConversationAccessDeniedError(this.conversationId);
    if (!exists && kind === 'existing') return 'absent';
    if (exists && this.rule === 'deny') throw new ConversationAccessDeniedError(this.conversationId);
    const { store } = this.context;
    const recorded = await guardConversation(this.context, 'claimOwner', this.conversationId, () =>
      store.claimOwner(this.conversationId, this.owner, kind === 'create'),
    );
    if (recorded === undefined) return 'absent';
    if (recorded !== this.owner) throw new ConversationAccessDeniedError(this.conversationId);
    return 'allowed';
  }

  private ownership(): Promise<Ownership> {
    return this.context.gate.guard('checkOwner', () => this.context.store.readOwnership(this.conversationId));
  }

  /** Refuses a conversation the caller does not own unless nobody owns it and the rule lets anyone read it. */
  private refuseUnlessReadable({ exists, owner }: Ownership): void {
    if (owner !== undefined || (exists && this.rule === 'deny')) {
      throw new ConversationAccessDeniedError(this.conversationId);
    }
  }
}

/**
 * A read through the gate. With `check` (a session opened for an owner), `read` gets the
 * `OwnerFilter` its statements carry, and `OwnerCheck.read` tells a refusal from an empty result
 * (`isEmpty`); without, `read` runs unfiltered.
 * @internal
 */
export function ownerCheckedRead<T>(
  context: Pick<SessionMemoryContext, 'gate'>,
  check: OwnerCheck | undefined,
  name: string,
  isEmpty: (result: T) => boolean,
  read: (filter?: OwnerFilter) => Promise<T>,
): Promise<T> {
  const attempt = (filter?: OwnerFilter) => context.gate.guard(name, () => read(filter));
  return check ? check.read(attempt, isEmpty) : attempt();
}
