import type { AgentInputItem } from '@openai/agents-core';
import { textOf } from '../../sample/src/local-model';

/**
 * The offline model the tests drive the real Agents SDK runner with. It lives in the sample (which runs
 * on it without an API key) and is re-exported here so that tests and sample exercise the same code.
 */
export { LocalModel, textOf } from '../../sample/src/local-model';
export type { LocalModelCall, LocalModelOptions } from '../../sample/src/local-model';

/**
 * One line per item, to compare a history with an expected sequence:
 * `user: <text>`, `assistant: <text>`, `function_call <name> <arguments>`,
 * `function_call_result <name>: <output text>`, or `<type>` for anything else.
 */
export function describeItems(items: readonly AgentInputItem[]): string[] {
  return items.map((item) => {
    const role = (item as { role?: string }).role;
    if (
      (item.type === undefined || item.type === 'message') &&
      (role === 'user' || role === 'assistant' || role === 'system')
    ) {
      return `${role}: ${textOf(item)}`;
    }
    if (item.type === 'function_call') return `function_call ${item.name} ${item.arguments}`;
    if (item.type === 'function_call_result') {
      const output = item.output as unknown;
      const text = typeof output === 'string' ? output : ((output as { text?: string }).text ?? JSON.stringify(output));
      return `function_call_result ${item.name}: ${text}`;
    }
    return String(item.type);
  });
}
