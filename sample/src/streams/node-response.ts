import type { ServerResponse } from 'http';

/**
 * The Node response under what `@Res()` gives: Express's response is one; a Fastify reply
 * (SAMPLE_PLATFORM=fastify) holds it as `raw`. With `takeOver`, Fastify is told that the handler writes
 * the response itself (`reply.hijack()`), as the streamed reply does.
 */
export function nodeResponse(response: unknown, takeOver = false): ServerResponse {
  const reply = response as { raw?: ServerResponse; hijack?: () => void };
  if (reply.raw) {
    if (takeOver) reply.hijack?.();
    return reply.raw;
  }
  return response as ServerResponse;
}
