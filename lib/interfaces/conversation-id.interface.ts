/**
 * Reads the conversation id of a call. Its arguments depend on the transport (`transport.type`,
 * docs/transports.md):
 * - `'http'`: the Express or Fastify request;
 * - `'ws'` (a `@SubscribeMessage()` handler): the socket (socket.io or ws) and the message payload;
 * - `'graphql'`: the HTTP request found in the GraphQL context (`req`; for a graphql-ws subscription,
 *   the upgrade request) and the field's arguments; `transport.context` is the GraphQL context;
 * - `'rpc'`: the microservice's context and the message data.
 *
 * May be async and may throw (for example a `ForbiddenException` for a conversation the caller may not see).
 * Returning `undefined` or an empty string refuses the call (400).
 */
export type ConversationIdResolver = (
  request: any,
  message?: any,
  transport?: { type: 'http' | 'ws' | 'graphql' | 'rpc'; context?: unknown },
) => string | undefined | null | Promise<string | undefined | null>;

/**
 * Reads who the caller of a call is (may be async, may throw, e.g. an `UnauthorizedException`). Given
 * the same arguments as a `ConversationIdResolver`: over WebSockets the socket, where the
 * application's connection handling put the authenticated caller.
 */
export type CallerIdResolver = (
  request: any,
  message?: any,
  transport?: { type: 'http' | 'ws' | 'graphql' | 'rpc'; context?: unknown },
) => string | undefined | null | Promise<string | undefined | null>;

/** Where the request-scoped session and `@Conversation()` find the conversation id. */
export type ConversationIdSource = { header: string } | { param: string } | { query: string } | ConversationIdResolver;
