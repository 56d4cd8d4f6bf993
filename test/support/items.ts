import { protocol } from '@openai/agents-core';
import { SessionItem } from '../../lib';

/**
 * Item builders shared by the specs and the benchmarks. Each returns exactly the item the specs used to
 * write inline, so a stored row and an expected value built with the same builder compare equal.
 */

/** A user message: `{ role: 'user', content: text }`. */
export const user = (text: string): { role: 'user'; content: string } => ({ role: 'user', content: text });

/** A completed `function_call` item of the tool `name` (default `lookup`). */
export const functionCall = (
  callId: string,
  args = '{}',
  name = 'lookup',
): Extract<SessionItem, { type: 'function_call' }> => ({
  type: 'function_call',
  callId,
  name,
  arguments: args,
  status: 'completed',
});

/** A compaction item as the SDK parses it, whose encrypted content is `summary <tag>`. */
export const compaction = (tag: string): SessionItem =>
  protocol.ModelItem.parse({ type: 'compaction', encrypted_content: `summary ${tag}` }) as SessionItem;

/** The `content` of text messages, in order (for comparing a history by its texts). */
export const texts = (items: readonly unknown[]): string[] => items.map((i) => (i as { content: string }).content);
