/**
 * Imported first by main.ts, before the Agents SDK loads: without an OpenAI API key there is nowhere to
 * send traces, so tracing is switched off instead of failing to export over the network.
 */
if (!process.env.OPENAI_API_KEY && process.env.OPENAI_AGENTS_DISABLE_TRACING === undefined) {
  process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';
}

export {};
