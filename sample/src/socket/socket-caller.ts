import { UnauthorizedException } from '@nestjs/common';
import type { IncomingMessage } from 'http';
import type { AuthenticatedRequest, Caller } from '../auth/caller';
import type { CallerAuthentication } from '../auth/caller-authentication.service';

/** Each socket's caller, authenticated once from its connection request. */
const callers = new WeakMap<object, Promise<Caller>>();

/**
 * Authenticates a WebSocket connection from its upgrade request, through the same `CallerAuthenticator`
 * as the HTTP API (the demo reads `x-caller-id`, or `?caller=` since a browser's WebSocket sends no
 * custom headers; a real application would read its session cookie), and keeps the answer for the
 * socket's messages. Rejects (401) when the request names no caller.
 */
export function authenticateSocket(
  client: object,
  request: IncomingMessage,
  authentication: CallerAuthentication,
): Promise<Caller> {
  const query = Object.fromEntries(new URL(request.url ?? '/', 'http://localhost').searchParams);
  const pending = authentication.callerOf({ headers: request.headers, query } as unknown as AuthenticatedRequest);
  pending.catch(() => undefined); // whoever awaits it handles the refusal
  callers.set(client, pending);
  return pending;
}

/**
 * The caller of a socket's connection.
 * @throws UnauthorizedException when the socket was not authenticated, or its authentication failed.
 */
export async function socketCaller(client: object): Promise<Caller> {
  const pending = callers.get(client);
  if (!pending) throw new UnauthorizedException('This socket was not authenticated when it connected.');
  return pending;
}
