import type { AgentInputItem, SessionInputCallback } from '@openai/agents-core';
import { InvalidSessionInputError } from '../exceptions';
import type { WindowHistoryOptions } from '../interfaces/window-history.interface';

export type { WindowHistoryOptions } from '../interfaces/window-history.interface';

/** Items that answer an earlier call with the same `callId`. */
const RESULT_TYPES = new Set([
  'function_call_result',
  'computer_call_result',
  'shell_call_output',
  'apply_patch_call_output',
  'tool_search_output',
  'program_output',
]);

type Loose = { type?: unknown; role?: unknown; callId?: unknown };

const isResult = (item: AgentInputItem): boolean => RESULT_TYPES.has(String((item as Loose).type));
const isUserMessage = (item: AgentInputItem): boolean => {
  const { type, role } = item as Loose;
  return role === 'user' && (type === undefined || type === 'message');
};

/**
 * The newest stored items to show the model, by the rules of the Agents SDK's history: a `compaction`
 * item (the summary of everything before it) is always kept, first; the window never starts with a
 * tool result whose call it leaves out, never keeps a call's result without the call, and never
 * starts just after a `reasoning` item (which belongs to the output that follows it). To keep those
 * rules the window may hold fewer items than allowed, never more.
 * @internal exported for its unit tests; use `windowHistory()`.
 */
export function selectWindow(history: AgentInputItem[], options: WindowHistoryOptions): AgentInputItem[] {
  let compaction = -1;
  for (let i = history.length - 1; i >= 0; i--) {
    if ((history[i] as Loose).type === 'compaction') {
      compaction = i;
      break;
    }
  }
  const first = compaction + 1; // the items after the compaction item are the ones windowed
  let start = first;
  if (options.maxItems !== undefined) start = Math.max(start, history.length - options.maxItems);
  if (options.maxTurns !== undefined) {
    let turns = 0;
    let turnStart = history.length;
    for (let i = history.length - 1; i >= first && turns < options.maxTurns; i--) {
      if (isUserMessage(history[i])) {
        turns++;
        turnStart = i;
      }
    }
    // Fewer user messages than maxTurns: everything after the compaction item is within the window.
    start = Math.max(start, turns < options.maxTurns ? first : turnStart);
  }
  start = safeStart(history, start, first);
  const window = history.slice(start);
  return compaction >= 0 ? [history[compaction], ...window] : window;
}

/** The first index at or after `start` where a window can begin without splitting a call from its result. */
function safeStart(history: AgentInputItem[], start: number, first: number): number {
  // Where each call is, by callId (calls come before their results).
  const callAt = new Map<unknown, number>();
  history.forEach((item, i) => {
    const callId = (item as Loose).callId;
    if (callId !== undefined && !isResult(item) && !callAt.has(callId)) callAt.set(callId, i);
  });
  let s = start;
  for (;;) {
    const before = s;
    if (s > first && s < history.length && (history[s - 1] as Loose).type === 'reasoning') s++;
    for (let j = s; j < history.length; j++) {
      if (!isResult(history[j])) continue;
      const call = callAt.get((history[j] as Loose).callId);
      // A result whose call is left out (or was never stored): start after it.
      if (call === undefined ? j === s : call < s) s = j + 1;
    }
    if (s === before) return s;
  }
}

function assertCount(name: string, value: unknown): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1)) {
    throw new InvalidSessionInputError(`windowHistory: ${name} must be a whole number >= 1, got ${String(value)}.`);
  }
}

/**
 * A `sessionInputCallback` that shows the model only the newest part of the stored history,
 * without touching what is stored (`getItems()` still returns the whole history):
 *
 * ```ts
 * await run(agent, input, { session, sessionInputCallback: windowHistory({ maxItems: 40 }) });
 * ```
 *
 * The window keeps the latest `compaction` item, never separates a tool call from its result and
 * never starts with an orphan tool result or just after a `reasoning` item, so it may hold fewer
 * items than `maxItems`. The new input of the turn is always passed on whole.
 * @throws InvalidSessionInputError when neither limit is given, or one is not a whole number >= 1.
 */
export function windowHistory(options: WindowHistoryOptions): SessionInputCallback {
  if (
    options === null ||
    typeof options !== 'object' ||
    (options.maxItems === undefined && options.maxTurns === undefined)
  ) {
    throw new InvalidSessionInputError('windowHistory needs { maxItems } or { maxTurns } (or both).');
  }
  assertCount('maxItems', options.maxItems);
  assertCount('maxTurns', options.maxTurns);
  const limits = { maxItems: options.maxItems, maxTurns: options.maxTurns };
  return (history, newItems) => [...selectWindow(history, limits), ...newItems];
}
