import { randomBytes } from 'crypto';
import { countUserMessages } from './turns';

/** What one runner run did in one conversation, as far as usage needs it. @internal */
export interface RunInConversation {
  /** User messages in the run's first whole read of the history (undefined: it has not read it). */
  read?: number;
  /** User messages the run wrote since. */
  wrote: number;
  /** The last usage recorded for the run here (`snapshotOf`), so that an unchanged save writes nothing. */
  recorded?: string;
  /** The conversation's owner when known (looked up once per run). */
  owner?: string | null;
}

/** One run: its idempotency key, and what it did in each conversation it touched. */
interface RunEntry {
  key: string;
  conversations: Map<string, RunInConversation>;
}

/**
 * Per runner run (its `RunContext` object), process-wide: the run's key (random, so a saved usage row
 * is the run's and a repeated save replaces it) and what it read and wrote. A WeakMap: a finished
 * run's entry goes with its context.
 */
const runs = new WeakMap<object, RunEntry>();

function entryOf(run: object): RunEntry {
  let entry = runs.get(run);
  if (!entry) {
    entry = { key: randomBytes(16).toString('hex'), conversations: new Map() };
    runs.set(run, entry);
  }
  return entry;
}

/** The run's key and what it did in `conversationId` (created empty on first use). @internal */
export function runIn(run: object, conversationId: string): { key: string; state: RunInConversation } {
  const entry = entryOf(run);
  let state = entry.conversations.get(conversationId);
  if (!state) {
    state = { wrote: 0 };
    entry.conversations.set(conversationId, state);
  }
  return { key: entry.key, state };
}

/**
 * How many user messages arrays handed out by a whole read hold, when the reader already knew
 * (`rememberUserMessages`: the history cache counts them once, as rows are added), so that `learnRead`
 * need not count them again. Keyed by the array itself, a fresh one per read, and read back before the
 * read returns it to its caller.
 */
const knownUserMessages = new WeakMap<readonly unknown[], number>();

/**
 * Records that `items`, a fresh array a whole read is about to return, holds `count` user messages
 * (`countUserMessages(items)`). @internal
 */
export function rememberUserMessages(items: readonly unknown[], count: number): void {
  knownUserMessages.set(items, count);
}

/**
 * A whole read of the history by `run`: its first one (the history the run started from) counts its
 * user messages; later ones (which hold what the run wrote since) change nothing. @internal
 */
export function learnRead(run: object | undefined, conversationId: string, items: readonly unknown[]): void {
  if (!run) return;
  const { state } = runIn(run, conversationId);
  if (state.read === undefined) state.read = knownUserMessages.get(items) ?? countUserMessages(items);
}

/** Items `run` wrote: their user messages advance its turn. @internal */
export function noteWrote(run: object, conversationId: string, items: readonly unknown[]): void {
  runIn(run, conversationId).state.wrote += countUserMessages(items);
}
