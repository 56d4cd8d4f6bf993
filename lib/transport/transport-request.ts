import type { ExecutionContext } from '@nestjs/common';
import { handshakeOf } from './ws-handshake';

/** The transports `@Conversation()` and the request-scoped session know (`ExecutionContext#getType()`). @internal */
export type TransportType = 'http' | 'ws' | 'graphql' | 'rpc';

/**
 * What the header, route-param and query sources read: an HTTP request (Express, Fastify), a
 * WebSocket handshake, or the HTTP request of a GraphQL operation. @internal
 */
export interface RequestLike {
  headers?: Record<string, unknown>;
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  rawHeaders?: unknown;
  url?: string;
  originalUrl?: string;
  raw?: { rawHeaders?: unknown; url?: string };
}

/** Tells the requests read here from anything a caller passes in. */
const TRANSPORT_REQUEST = Symbol('nestjs-session-memory transport request');

/**
 * One call's conversation-id context, whatever the transport: what the `conversationId` and `owner`
 * resolvers are given, and where the header / param / query sources read. @internal
 */
export interface TransportRequest {
  readonly [TRANSPORT_REQUEST]: true;
  readonly type: TransportType;
  /** The resolvers' first argument: the HTTP request, the socket, the GraphQL operation's request, the RPC context. */
  readonly request: unknown;
  /** Their second: the WebSocket message's payload, the GraphQL field's arguments, the RPC data. */
  readonly message: unknown;
  /** The GraphQL context or the RPC context, as the transport gives it. */
  readonly context: unknown;
  /** What header / param / query sources read; undefined when the transport has none here. */
  readonly source: RequestLike | undefined;
  /** When `source` is undefined: what to configure instead (a sentence). */
  readonly noSource?: string;
}

function build(fields: Omit<TransportRequest, typeof TRANSPORT_REQUEST>): TransportRequest {
  return { [TRANSPORT_REQUEST]: true, ...fields };
}

/** Whether `value` was built here (the decorator's pipe gets one; the request-scoped provider gets Nest's REQUEST). @internal */
export function isTransportRequest(value: unknown): value is TransportRequest {
  return typeof value === 'object' && value !== null && (value as TransportRequest)[TRANSPORT_REQUEST] === true;
}

const hasHeaders = (value: any): value is RequestLike =>
  typeof value === 'object' && value !== null && typeof value.headers === 'object' && value.headers !== null;

/**
 * The request behind a GraphQL context: `req` (Apollo, and Nest's default context), `request`,
 * Mercurius's `reply.request`, or, for a graphql-ws subscription, the upgrade request
 * (`extra.request`, also where Nest's Apollo driver leaves it under `req`).
 */
function graphqlRequest(context: any): RequestLike | undefined {
  for (const candidate of [context?.req, context?.request, context?.reply?.request, context]) {
    if (hasHeaders(candidate)) return candidate;
    if (hasHeaders(candidate?.extra?.request)) return candidate.extra.request;
  }
  return undefined;
}

const NO_GRAPHQL_REQUEST =
  "the GraphQL context holds no request with headers: return { req } from the GraphQL module's context option " +
  '(for graphql-ws subscriptions, the upgrade request is ctx.extra.request), or read the id in a conversationId resolver ' +
  "(it gets the field's arguments).";

const NO_RPC_REQUEST =
  'a microservice message has no headers, route or query: read the id in a conversationId resolver (it gets the message data).';

function fromGraphql(context: unknown, args: unknown): TransportRequest {
  const source = graphqlRequest(context);
  return build({
    type: 'graphql',
    request: source ?? context,
    message: args,
    context,
    source,
    noSource: source ? undefined : NO_GRAPHQL_REQUEST,
  });
}

/** The conversation-id context of a handler call, from its ExecutionContext (`@Conversation()`). @internal */
export function fromExecutionContext(ctx: ExecutionContext): TransportRequest {
  const type = ctx.getType<string>();
  if (type === 'ws') {
    const ws = ctx.switchToWs();
    const client = ws.getClient<unknown>();
    const handshake = handshakeOf(client);
    return build({ type: 'ws', request: client, message: ws.getData(), context: undefined, ...handshake });
  }
  if (type === 'graphql') {
    const [, args, context] = ctx.getArgs();
    return fromGraphql(context, args);
  }
  if (type === 'rpc') {
    const rpc = ctx.switchToRpc();
    const context = rpc.getContext<unknown>();
    return build({
      type: 'rpc',
      request: context,
      message: rpc.getData(),
      context,
      source: undefined,
      noSource: NO_RPC_REQUEST,
    });
  }
  const request = ctx.switchToHttp().getRequest<RequestLike>();
  return build({ type: 'http', request, message: undefined, context: undefined, source: request });
}

/**
 * The conversation-id context of what Nest injects as `REQUEST` into the request-scoped session: an
 * HTTP request (Express, Fastify), a GraphQL context (its field arguments are not known there), or a
 * microservice's `RequestContext`. @internal
 */
export function fromInjectedRequest(injected: any): TransportRequest {
  if (typeof injected?.getPattern === 'function' && typeof injected?.getData === 'function') {
    const context = typeof injected.getContext === 'function' ? injected.getContext() : undefined;
    return build({
      type: 'rpc',
      request: context,
      message: injected.getData(),
      context,
      source: undefined,
      noSource: NO_RPC_REQUEST,
    });
  }
  if (hasHeaders(injected)) {
    return build({ type: 'http', request: injected, message: undefined, context: undefined, source: injected });
  }
  return fromGraphql(injected, undefined);
}
