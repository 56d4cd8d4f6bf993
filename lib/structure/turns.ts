import type { SessionItem } from '../interfaces';

/**
 * One user turn of a conversation (`getConversationTurns`, `findTurnsByContent`): the turn number
 * (from 1), the user's text (`content`: its first 100 characters in `getConversationTurns`, the whole
 * text in `findTurnsByContent`, as in Python's `AdvancedSQLiteSession`), when it was stored when known,
 * and whether a branch may start there (always: every user turn can be asked again).
 */
export interface ConversationTurn {
  /** 1 for the first user message, 2 for the second, ... */
  turn: number;
  /** The user's text: its first 100 characters in `getConversationTurns`, all of it in `findTurnsByContent`. */
  content: string;
  /** The user's whole text. */
  fullContent: string;
  /** When the user message was stored (its row's `created_at`), where known. */
  timestamp?: Date;
  /** Whether a branch can start at this turn (every user turn can). */
  canBranch: boolean;
}

/** One item of a turn in `getConversationByTurns`: its position in the history, its type and tool name. */
export interface TurnItem {
  /** The item's index in the history (0 = oldest). */
  index: number;
  /** `'user'`, `'assistant'`, else the item's `type` (`'function_call'`, `'reasoning'`, ...), `'other'` when it has none. */
  type: string;
  /** The tool a tool call or output names (see `toolNameOf`), else `null`. */
  toolName: string | null;
}

/** The items of one turn, oldest first. Turn 0 holds what came before the first user message. */
export interface TurnItems {
  turn: number;
  items: TurnItem[];
}

/** How often one tool was called in one turn (`getToolUsage`). */
export interface ToolUsage {
  toolName: string;
  count: number;
  turn: number;
}

/** Characters of `content` in `getConversationTurns`. */
const CONTENT_CHARACTERS = 100;

/** Item types that are a call of a tool (Python's list, plus the Agents SDK for JavaScript's own types). */
const TOOL_CALL_TYPES = new Set([
  // Python AdvancedSQLiteSession's (Responses API item types)
  'tool_call',
  'function_call',
  'computer_call',
  'file_search_call',
  'web_search_call',
  'code_interpreter_call',
  'tool_search_call',
  'custom_tool_call',
  'mcp_call',
  'mcp_approval_request',
  // @openai/agents-core's
  'hosted_tool_call',
  'shell_call',
  'local_shell_call',
  'apply_patch_call',
]);

/** Tool items without a `name`: named by their type (tool search, both halves, as `tool_search`). */
const TYPE_NAMED_TOOLS = new Set([
  'computer_call',
  'file_search_call',
  'web_search_call',
  'code_interpreter_call',
  'shell_call',
  'local_shell_call',
  'apply_patch_call',
]);

type Loose = Record<string, unknown>;

const asObject = (item: unknown): Loose | undefined =>
  typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as Loose) : undefined;

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/**
 * Whether an item starts a turn: a user message, i.e. `role: 'user'` with no `type` or `type: 'message'`
 * (the Agents SDK writes user input both as `{ role: 'user', content: 'text' }` and with
 * `type: 'message'`; only messages carry a role). Python's `AdvancedSQLiteSession` tests `role == 'user'`.
 */
export function isUserMessage(item: unknown): boolean {
  const o = asObject(item);
  return o !== undefined && o.role === 'user' && (o.type === undefined || o.type === 'message');
}

/**
 * The text of a user message: its string `content`, or the text of its `input_text` (or `text`) parts
 * joined by a newline (images, files and audio have no text). `''` when there is none.
 */
export function userText(item: unknown): string {
  const content = asObject(item)?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const part of content) {
    const p = asObject(part);
    if (p && (p.type === 'input_text' || p.type === 'text') && typeof p.text === 'string') parts.push(p.text);
  }
  return parts.join('\n');
}

/**
 * What `getConversationByTurns` calls an item's type, as Python does: `'user'` / `'assistant'` for
 * those roles, else its `type`, else `'other'`.
 */
export function itemType(item: unknown): string {
  const o = asObject(item);
  if (!o) return 'other';
  if (o.role === 'user') return 'user';
  if (o.role === 'assistant') return 'assistant';
  return nonEmpty(o.type) ?? 'other';
}

/**
 * The tool an item names, as Python's `AdvancedSQLiteSession` finds it: an MCP call as
 * `<server_label>.<name>`; tool search (call and output) as `tool_search`; computer, file search, web
 * search, code interpreter, shell and apply-patch calls by their type; anything else with a `name`
 * by that name, qualified `<namespace>.<name>` when it has a namespace other than its own name. `null`
 * when the item names no tool.
 */
export function toolNameOf(item: unknown): string | null {
  const o = asObject(item);
  if (!o) return null;
  const type = o.type;
  if ((type === 'mcp_call' || type === 'mcp_approval_request') && 'server_label' in o) {
    const label = nonEmpty(o.server_label);
    const name = nonEmpty(o.name);
    if (label && name) return `${label}.${name}`;
    return label ?? name ?? null;
  }
  if (type === 'tool_search_call' || type === 'tool_search_output') return 'tool_search';
  if (typeof type === 'string' && TYPE_NAMED_TOOLS.has(type)) return type;
  const name = nonEmpty(o.name);
  if (!name) return null;
  const namespace = nonEmpty(o.namespace);
  return namespace && namespace !== name ? `${namespace}.${name}` : name;
}

/** How many user messages `items` holds (the number of turns they start). */
export function countUserMessages(items: readonly unknown[]): number {
  let n = 0;
  for (const item of items) if (isUserMessage(item)) n++;
  return n;
}

/**
 * The turn of each item: each user message starts the next turn (the first is turn 1); the items
 * after it belong to it. Items before the first user message are turn 0, as in Python.
 */
export function turnsOf(items: readonly unknown[]): number[] {
  const turns = new Array<number>(items.length);
  let turn = 0;
  for (let i = 0; i < items.length; i++) {
    if (isUserMessage(items[i])) turn++;
    turns[i] = turn;
  }
  return turns;
}

/** The first `CONTENT_CHARACTERS` characters (code points: a pair of surrogates is never split). */
function preview(text: string): string {
  if (text.length <= CONTENT_CHARACTERS) return text;
  return Array.from(text.slice(0, CONTENT_CHARACTERS * 2))
    .slice(0, CONTENT_CHARACTERS)
    .join('');
}

/** The turn a user message at `index` starts, as a `ConversationTurn`. */
function turnAt(
  items: readonly SessionItem[],
  index: number,
  turn: number,
  full: boolean,
  timestamps?: readonly (Date | undefined)[],
): ConversationTurn {
  const text = userText(items[index]);
  const entry: ConversationTurn = { turn, content: full ? text : preview(text), fullContent: text, canBranch: true };
  const at = timestamps?.[index];
  if (at !== undefined) entry.timestamp = at;
  return entry;
}

/**
 * The user turns of a history, oldest first (Python's `get_conversation_turns`).
 * @param timestamps when each item was stored (by index), where known: fills `timestamp`.
 */
export function conversationTurns(
  items: readonly SessionItem[],
  timestamps?: readonly (Date | undefined)[],
): ConversationTurn[] {
  const out: ConversationTurn[] = [];
  for (let i = 0; i < items.length; i++) {
    if (isUserMessage(items[i])) out.push(turnAt(items, i, out.length + 1, false, timestamps));
  }
  return out;
}

/**
 * The user turns whose text contains `term`, ignoring case (Unicode lower case; the term is literal:
 * no wildcards), oldest first, with the whole text as `content` (Python's `find_turns_by_content`).
 */
export function findTurnsByContent(
  items: readonly SessionItem[],
  term: string,
  timestamps?: readonly (Date | undefined)[],
): ConversationTurn[] {
  const needle = term.toLowerCase();
  const out: ConversationTurn[] = [];
  let turn = 0;
  for (let i = 0; i < items.length; i++) {
    if (!isUserMessage(items[i])) continue;
    turn++;
    if (userText(items[i]).toLowerCase().includes(needle)) out.push(turnAt(items, i, turn, true, timestamps));
  }
  return out;
}

/**
 * The history grouped by turn (Python's `get_conversation_by_turns`), in order; turn 0 (items before
 * the first user message) only when there are such items.
 */
export function itemsByTurns(items: readonly SessionItem[]): TurnItems[] {
  const groups: TurnItems[] = [];
  const turns = turnsOf(items);
  for (let i = 0; i < items.length; i++) {
    const last = groups[groups.length - 1];
    const entry: TurnItem = { index: i, type: itemType(items[i]), toolName: toolNameOf(items[i]) };
    if (last && last.turn === turns[i]) last.items.push(entry);
    else groups.push({ turn: turns[i], items: [entry] });
  }
  return groups;
}

/**
 * Tool calls per tool and turn (Python's `get_tool_usage`), by turn, then in order of each tool's
 * first call in the turn. A tool search output counts only when its turn has no tool search call
 * (a client-side search has both; a hosted one may have only the output).
 */
export function toolUsage(items: readonly SessionItem[]): ToolUsage[] {
  const turns = turnsOf(items);
  const out: ToolUsage[] = [];
  const byKey = new Map<string, ToolUsage>();
  const searchCallTurns = new Set<number>();
  items.forEach((item, i) => {
    if (asObject(item)?.type === 'tool_search_call') searchCallTurns.add(turns[i]);
  });
  items.forEach((item, i) => {
    const type = asObject(item)?.type;
    const counted =
      (typeof type === 'string' && TOOL_CALL_TYPES.has(type)) ||
      (type === 'tool_search_output' && !searchCallTurns.has(turns[i]));
    const toolName = counted ? toolNameOf(item) : null;
    if (toolName === null) return;
    const key = `${turns[i]}\u0000${toolName}`;
    const found = byKey.get(key);
    if (found) found.count++;
    else {
      const entry = { toolName, count: 1, turn: turns[i] };
      byKey.set(key, entry);
      out.push(entry);
    }
  });
  return out;
}

/**
 * The index of the user message that starts turn `turn` (1-based), or `undefined` when the history
 * has fewer turns. The history before that index is what a branch from `turn` keeps.
 */
export function turnStartIndex(items: readonly unknown[], turn: number): number | undefined {
  if (!Number.isSafeInteger(turn) || turn < 1) return undefined;
  let seen = 0;
  for (let i = 0; i < items.length; i++) {
    if (isUserMessage(items[i]) && ++seen === turn) return i;
  }
  return undefined;
}
