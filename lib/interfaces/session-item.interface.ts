import type { AgentInputItem } from '@openai/agents-core';

/**
 * One stored conversation item: an input item of the OpenAI Agents SDK (a message, a
 * `function_call`, a `function_call_result`, `reasoning`, ...). Stored as its JSON text.
 */
export type SessionItem = AgentInputItem;
