// The Agents SDK must never try to export traces over the network from tests.
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';
