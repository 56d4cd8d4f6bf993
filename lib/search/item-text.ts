import type { SearchInclude } from '../interfaces/search.interface';
import { isUserMessage } from '../structure/turns';

/** What an item contributes to the search index: who said it and its text. @internal */
export interface IndexedText {
  role: 'user' | 'assistant' | 'tool_call' | 'tool_output';
  body: string;
}

/**
 * Most characters of one item's text that are indexed: PostgreSQL's `tsvector` holds at most 1 MB,
 * and a snippet needs no more. Text beyond it is not searchable (docs/search.md).
 */
export const MAX_INDEXED_CHARS = 100_000;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The text parts of a message's `content`: a string, or parts carrying `text` (input_text, output_text, ...). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') parts.push(part);
    else if (isObject(part) && typeof part.text === 'string') parts.push(part.text);
    else if (isObject(part) && typeof part.refusal === 'string') parts.push(part.refusal);
  }
  return parts.join('\n');
}

/** A tool output: a string, a `{ type: 'text', text }` object, or a list of such parts. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (isObject(output)) return typeof output.text === 'string' ? output.text : '';
  return contentText(output);
}

/**
 * The indexed text of one stored item (its stored JSON text, as the module or Python wrote it), or
 * undefined when nothing of it is indexed: not JSON, an encryption envelope (never indexed), or a
 * kind of item `include` leaves out. Both the SDK's camelCase and the Responses API's snake_case
 * forms are read.
 * @internal
 */
export function indexedTextOf(stored: string, include: ReadonlySet<SearchInclude>): IndexedText | undefined {
  const item = sealed(stored) ? undefined : parseObject(stored);
  return item === undefined ? undefined : indexedTextOfItem(item, include);
}

/**
 * What the search entry of one stored item holds: its indexed text, and `role: 'user'` for every user
 * message (`isUserMessage`, what starts a turn), even one with no text to index (an image only) or
 * when `include` leaves messages out: a hit's turn is counted from these roles (docs/search.md,
 * "Turns"). `''` role and body for anything else nothing of which is indexed.
 * @internal
 */
export function entryTextOf(stored: string, include: ReadonlySet<SearchInclude>): { role: string; body: string } {
  const item = parseObject(stored);
  if (item === undefined) return { role: '', body: '' };
  const text = sealed(stored) ? undefined : indexedTextOfItem(item, include);
  return { role: isUserMessage(item) ? 'user' : (text?.role ?? ''), body: text?.body ?? '' };
}

/** Whether a stored text is (or holds) an EncryptedSession envelope: its text is never indexed. */
const sealed = (stored: string): boolean => stored.includes('"__enc__"');

/** The stored item as a JSON object, or undefined (not JSON, not an object). */
function parseObject(stored: string): Json | undefined {
  let item: unknown;
  try {
    item = JSON.parse(stored);
  } catch {
    return undefined;
  }
  return isObject(item) ? item : undefined;
}

function indexedTextOfItem(item: Json, include: ReadonlySet<SearchInclude>): IndexedText | undefined {
  const found = textOf(item, include);
  if (!found || found.body.trim() === '') return undefined;
  return { role: found.role, body: found.body.slice(0, MAX_INDEXED_CHARS) };
}

function textOf(item: Json, include: ReadonlySet<SearchInclude>): IndexedText | undefined {
  const type = item.type;
  if ((item.role === 'user' || item.role === 'assistant') && (type === undefined || type === 'message')) {
    return include.has('messages') ? { role: item.role, body: contentText(item.content) } : undefined;
  }
  if (type === 'function_call' || type === 'hosted_tool_call') {
    if (!include.has('tool_calls')) return undefined;
    const args = typeof item.arguments === 'string' ? item.arguments : '';
    return { role: 'tool_call', body: [item.name, args].filter((s) => typeof s === 'string' && s).join('\n') };
  }
  if (type === 'function_call_result' || type === 'function_call_output') {
    return include.has('tool_outputs') ? { role: 'tool_output', body: outputText(item.output) } : undefined;
  }
  return undefined;
}
