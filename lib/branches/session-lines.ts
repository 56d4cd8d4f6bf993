import { SealingStore } from '../encryption/sealing-store';
import { withBranchSearchIndex } from '../search/indexing-store';
import type { SessionMemoryContext } from '../session-memory.context';
import type { ItemStore } from '../storage/branches/branch-line.store';
import { MAIN_BRANCH } from '../storage/branches/branch-view.sql';
import type { SessionStore } from '../storage/session-store';

/**
 * Which branch each call of one `ConversationSession` acts on (docs/conversation-structure.md):
 * - a session from `onBranch(id)` always acts on that branch;
 * - otherwise a read follows the conversation's current branch (stored in the database, so every
 *   process agrees), and a write goes to the branch this session (or, with a run context, that runner
 *   run) last read, so a run writes to the branch it read even if another tab switched meanwhile; a
 *   write with no read before it goes to the current branch.
 * Without the branch tables there is only main and nothing is looked up.
 * @internal
 */
export class SessionLines {
  private lastRead: string | undefined;
  private byRun: WeakMap<object, string> | undefined;

  constructor(
    private readonly context: SessionMemoryContext,
    private readonly conversationId: string,
    /** The branch of a session from `onBranch(id)`. */
    readonly bound?: string,
  ) {}

  /** Whether the conversation may have branches here (the branch tables exist, or this session is bound to one). */
  get active(): boolean {
    return this.bound !== undefined || this.context.optionalTables.current.branches;
  }

  /** The module's context with `items` acting on `branch` (main: the context itself). */
  contextFor(branch: string): SessionMemoryContext {
    return branch === MAIN_BRANCH ? this.context : lineContext(this.context, branch, false);
  }

  /**
   * The conversation's current branch, as stored. `guarded: false` inside an operation the gate already
   * admitted (a read's lookup), so that a shutdown that began meanwhile lets it finish.
   */
  async current(guarded = true): Promise<string> {
    const look = () => this.context.store.branches.current(this.conversationId);
    const branch = await (guarded ? this.context.gate.guard('getCurrentBranch', look) : look());
    this.context.store.branches.seen(this.conversationId, branch);
    return branch;
  }

  /** `contextFor(branch)` whose reads return nothing unless `branch` is current (checked in the read's statement). */
  private whileCurrentFor(branch: string): SessionMemoryContext {
    return lineContext(this.context, branch, true);
  }

  /** The branch a write (of `run`, if given) acts on. */
  async forWrite(run?: object): Promise<string> {
    return this.known(run) ?? (this.active ? this.current() : MAIN_BRANCH);
  }

  /** The branch a write of `run` goes to when this session knows it (bound, or read before); else undefined. */
  known(run?: object): string | undefined {
    if (this.bound !== undefined) return this.bound;
    if (!this.active) return MAIN_BRANCH;
    return (run && this.byRun?.get(run)) ?? this.lastRead;
  }

  /**
   * Appends to the branch this session writes to: when it does not know it, to main if main is current
   * (checked in the append's own statement), else to the current branch. Returns the branch.
   */
  async append(
    json: string[],
    run: object | undefined,
    guard: <T>(write: () => Promise<T>) => Promise<T>,
  ): Promise<string> {
    const known = this.known(run);
    if (known !== undefined) {
      await guard(() => this.contextFor(known).items.append(this.conversationId, json));
      return known;
    }
    const onMain = await guard(() => this.context.items.append(this.conversationId, json, { ifMainIsCurrent: true }));
    if (onMain) return MAIN_BRANCH;
    const branch = await this.current();
    await guard(() => this.contextFor(branch).items.append(this.conversationId, json));
    return branch;
  }

  /**
   * A read of the branch this session reads now: the bound one, or the current one. On a conversation
   * that may have branches, the branch this process last saw current (main unless it saw another) is
   * read in one statement that answers only while it still is current; when that read finds nothing,
   * main is read while the current branch is looked up (in parallel), and the branch read instead when
   * it is not main. `isEmpty` tells a read that found nothing.
   */
  async read<T>(
    run: object | undefined,
    readLine: (context: SessionMemoryContext, branch: string) => Promise<T>,
    isEmpty: (value: T) => boolean = isEmptyRead,
  ): Promise<T> {
    if (this.bound !== undefined) return readLine(this.contextFor(this.bound), this.bound);
    if (!this.active) return this.remember(run, MAIN_BRANCH, await readLine(this.context, MAIN_BRANCH));
    const hint = this.context.store.branches.hint(this.conversationId);
    // (With the history cache, main's whole read goes through the cache: it reads main as below.)
    const tryFirst = hint ?? (this.context.historyCache === undefined ? MAIN_BRANCH : undefined);
    if (tryFirst !== undefined) {
      const found = await readLine(this.whileCurrentFor(tryFirst), tryFirst);
      if (!isEmpty(found)) return this.remember(run, tryFirst, found);
    }
    // (`read` runs inside its operation's gate guard: the lookup is part of it.)
    const [branch, fromMain] = await Promise.all([this.current(false), readLine(this.context, MAIN_BRANCH)]);
    if (branch === MAIN_BRANCH) return this.remember(run, branch, fromMain);
    return this.remember(run, branch, await readLine(this.contextFor(branch), branch));
  }

  /**
   * A pop on the branch this session writes to: when it does not know it, on main if main is current
   * (checked in the pop itself), else on the current branch.
   */
  async pop<T extends { notOnMain?: boolean }>(
    run: object | undefined,
    popLine: (context: SessionMemoryContext, onlyIfMainIsCurrent: boolean) => Promise<T>,
  ): Promise<T> {
    const known = this.known(run);
    if (known !== undefined) return popLine(this.contextFor(known), false);
    const onMain = await popLine(this.context, true);
    if (!onMain.notOnMain) return onMain;
    return popLine(this.contextFor(await this.current()), false);
  }

  /** After a write that chose `branch`: later writes of this session go there too. */
  wroteTo(branch: string, run?: object): void {
    this.remember(run, branch, undefined);
  }

  /** After `branch` was deleted: writes of this session no longer go there (the current branch is looked up). */
  forget(branch: string): void {
    if (this.lastRead === branch) this.lastRead = undefined;
  }

  private remember<T>(run: object | undefined, branch: string, value: T): T {
    this.lastRead = branch;
    // A run keeps the branch of its first read.
    if (run && !this.byRun?.has(run)) (this.byRun ??= new WeakMap()).set(run, branch);
    return value;
  }
}

/** A read that found nothing: an empty list, or a page `{ items: [] }` with no cursor. */
function isEmptyRead(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  const page = value as { items?: unknown[]; before?: unknown } | undefined;
  return page?.items !== undefined && page.items.length === 0 && page.before === undefined;
}

/** Per module context, the contexts of its branch lines (branch ids repeat across conversations: few of them). */
const lineContexts = new WeakMap<SessionMemoryContext, Map<string, SessionMemoryContext>>();

/** The module's context with `items` acting on branch `branch` (reads only while it is current, with `whileCurrent`). */
function lineContext(context: SessionMemoryContext, branch: string, whileCurrent: boolean): SessionMemoryContext {
  let lines = lineContexts.get(context);
  if (!lines) lineContexts.set(context, (lines = new Map()));
  const key = `${whileCurrent ? 'c' : 'b'}:${branch}`;
  let found = lines.get(key);
  if (!found) {
    const line =
      branch === MAIN_BRANCH ? mainWhileCurrent(context.store) : context.store.branches.line(branch, whileCurrent);
    // With search on, the branch's writes mark the conversation for the index, as main's do (main's
    // writes go through the module's store, which does).
    const indexed = context.search && branch !== MAIN_BRANCH;
    const items = new SealingStore(indexed ? withBranchSearchIndex(line, context.search!) : line, context.codec);
    found = { ...context, items };
    lines.set(key, found);
  }
  return found;
}

/** Main's line whose reads answer only while main is current (one statement each); its writes are main's. */
function mainWhileCurrent(store: SessionStore): ItemStore {
  const reads = store.readsWhileMainIsCurrent();
  return {
    readAll: (...args) => reads.readAll(...args),
    readNewest: (...args) => reads.readNewest(...args),
    readAllData: (...args) => reads.readAllData(...args),
    readNewestData: (...args) => reads.readNewestData(...args),
    append: (...args) => store.append(...args),
    writeMetadata: (...args) => store.writeMetadata(...args),
    popNewest: (...args) => store.popNewest(...args),
    clearItems: (...args) => store.clearItems(...args),
    replaceItems: (...args) => store.replaceItems(...args),
    rewriteItems: (...args) => store.rewriteItems(...args),
    applyHistory: (...args) => store.applyHistory(...args),
  };
}
