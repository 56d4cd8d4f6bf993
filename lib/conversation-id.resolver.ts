import { BadRequestException, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { ConversationSession } from './conversation-session';
import { ConversationAccessDeniedError, InvalidConversationIdError, InvalidOwnerError } from './exceptions';
import { withoutPrefix } from './exceptions/message-prefix';
import type { SessionMemoryModuleOptions } from './interfaces';
import { DEFAULT_CONVERSATION_ID_HEADER } from './session-memory.constants';
import type { SessionMemoryService } from './session-memory.service';
import {
  fromInjectedRequest,
  isTransportRequest,
  type RequestLike,
  type TransportRequest,
  type TransportType,
} from './transport/transport-request';

/** Printable ASCII: what a header value can carry that every server reads the same way. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** How each transport is named in messages. */
const TRANSPORT_NAMES: Record<TransportType, string> = {
  http: 'HTTP request',
  ws: 'WebSocket message',
  graphql: 'GraphQL operation',
  rpc: 'microservice message',
};

/**
 * How many times a header was sent, from the raw headers (Node joins repeated custom headers into
 * one `"a, b"` value). Express and Nest's adapters expose `rawHeaders` (Fastify on `request.raw`).
 */
function headerCount(request: RequestLike | undefined, name: string): number | undefined {
  const raw: unknown = request?.rawHeaders ?? request?.raw?.rawHeaders;
  if (!Array.isArray(raw)) return undefined;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (String(raw[i]).toLowerCase() === name) n++;
  return n;
}

/** The raw request target, to tell a U+FFFD that was sent from one made by decoding bytes that are not UTF-8. */
function rawUrl(request: RequestLike | undefined): string {
  return String(request?.originalUrl ?? request?.url ?? request?.raw?.url ?? '');
}

/**
 * How a refusal is thrown: over HTTP and GraphQL as Nest's HTTP exceptions (GraphQL drivers turn them
 * into coded errors); over WebSockets and microservices, where those mean nothing, as the package's
 * typed errors (`InvalidConversationIdError` 400, `InvalidOwnerError` for an unknown caller,
 * `ConversationAccessDeniedError` 403), each with `getStatus()` for the application's exception filter.
 */
class Refusals {
  constructor(private readonly call: TransportRequest) {}

  private get http(): boolean {
    return this.call.type === 'http' || this.call.type === 'graphql';
  }

  badId(message: string, cause?: Error): Error {
    if (this.http) return new BadRequestException(message, cause ? { cause, description: 'Bad Request' } : undefined);
    return cause instanceof InvalidConversationIdError ? cause : new InvalidConversationIdError(message);
  }

  badCaller(message: string, cause?: Error): Error {
    if (this.http)
      return new UnauthorizedException(message, cause ? { cause, description: 'Unauthorized' } : undefined);
    return cause instanceof InvalidOwnerError ? cause : new InvalidOwnerError(message);
  }

  denied(err: ConversationAccessDeniedError): Error {
    return this.http ? new ForbiddenException(err.message, { cause: err, description: 'Forbidden' }) : err;
  }
}

/** The id the options' source names, and how to name that source in a message. */
async function readId(
  call: TransportRequest,
  options: Pick<SessionMemoryModuleOptions, 'conversationId'>,
  refuse: Refusals,
): Promise<{ id: unknown; where: string }> {
  const src = options.conversationId ?? { header: DEFAULT_CONVERSATION_ID_HEADER };
  if (typeof src === 'function') {
    const id = await src(call.request, call.message, { type: call.type, context: call.context });
    return { id, where: 'the conversation id resolver' };
  }
  const source = call.source;
  const named =
    'header' in src
      ? `header ${src.header.toLowerCase()}`
      : 'param' in src
        ? `route parameter :${src.param}`
        : `query parameter ${src.query}`;
  if (!source) {
    throw refuse.badId(
      `Cannot read the conversation id from ${named} in a ${TRANSPORT_NAMES[call.type]}: ${call.noSource}`,
    );
  }
  const over = call.type === 'ws' ? ' of the WebSocket handshake' : '';
  if ('header' in src) {
    const name = src.header.toLowerCase();
    const where = `header ${name}${over}`;
    const id = source.headers?.[name];
    if ((headerCount(source, name) ?? 0) > 1) {
      throw refuse.badId(`Give exactly one conversation id in ${where}: it was sent more than once.`);
    }
    if (typeof id === 'string' && !PRINTABLE_ASCII.test(id)) {
      throw refuse.badId(
        `The conversation id in ${where} must be printable ASCII (header bytes are not read as UTF-8). ` +
          'Percent-encode it and decode it in a conversationId resolver, or send it in the URL.',
      );
    }
    return { id, where };
  }
  if ('param' in src) {
    if (call.type === 'ws') {
      throw refuse.badId(
        `Cannot read the conversation id from route parameter :${src.param} in a WebSocket message (it has no route): ` +
          'set the conversationId option to { header }, { query } (both read from the handshake) or a resolver ' +
          '(it gets the socket and the message payload).',
      );
    }
    return { id: source.params?.[src.param], where: `route parameter :${src.param}` };
  }
  return { id: source.query?.[src.query], where: `query parameter ${src.query}${over}` };
}

/** Where to turn when no id was found outside HTTP (over HTTP the message stays `Missing conversation id: set <where>.`). */
function missingHint(call: TransportRequest): string {
  if (call.type === 'http') return '';
  if (call.type === 'ws')
    return ' (WebSocket: the conversationId option reads { header } and { query } from the connection handshake; a resolver gets the socket and the message payload)';
  if (call.type === 'graphql')
    return ' (GraphQL: { header } and { query } read the request in the GraphQL context; a resolver gets that request and the field arguments)';
  return ' (microservices: use a conversationId resolver, it gets the message data)';
}

/**
 * Reads the conversation id of a call as the options say (header, route param, query parameter or
 * resolver) and returns its session, opened for the caller when the `owner` option is set (whose read
 * access is checked here, before the handler runs). `input` is what `@Conversation()` read from the
 * ExecutionContext (HTTP, WebSocket, GraphQL, RPC), or what Nest injected as `REQUEST` into the
 * request-scoped session. Over HTTP (and GraphQL) refused with a 400 `BadRequestException`: a missing
 * or invalid id, a header sent twice, a header that is not printable ASCII (its bytes would be read
 * as Latin-1), and a URL id that held bytes that are not UTF-8. A missing caller is a 401; another
 * caller's conversation a 403 `ForbiddenException` whose `cause` is the `ConversationAccessDeniedError`.
 * Over WebSockets and microservices the package's typed errors are thrown instead (see `Refusals`).
 * Whatever a resolver throws passes through unchanged.
 * @internal
 */
export async function resolveConversationSession(
  input: unknown,
  service: SessionMemoryService,
  options: Pick<SessionMemoryModuleOptions, 'conversationId' | 'owner'>,
): Promise<ConversationSession> {
  const call = isTransportRequest(input) ? input : fromInjectedRequest(input);
  const refuse = new Refusals(call);
  const { id, where } = await readId(call, options, refuse);
  if (id === undefined || id === null || id === '') {
    throw refuse.badId(`Missing conversation id: set ${where}${missingHint(call)}.`);
  }
  if (Array.isArray(id) || (typeof id === 'object' && id !== null)) {
    throw refuse.badId(`Give exactly one conversation id in ${where}.`);
  }
  const src = options.conversationId;
  if (
    typeof src !== 'function' &&
    src !== undefined &&
    !('header' in src) &&
    typeof id === 'string' &&
    id.includes('\uFFFD') &&
    !/%EF%BF%BD/i.test(rawUrl(call.source)) &&
    !rawUrl(call.source).includes('\uFFFD')
  ) {
    throw refuse.badId(
      `The conversation id in ${where} is not valid UTF-8 once percent-decoded (e.g. %FF). Percent-encode its UTF-8 bytes.`,
    );
  }
  let owner: string | undefined;
  if (options.owner) {
    const caller = await options.owner(call.request, call.message, { type: call.type, context: call.context });
    if (caller === undefined || caller === null || caller === '') {
      throw refuse.badCaller(
        `Who is calling is not known: the owner option found no caller id in this ${call.type === 'http' ? 'request' : TRANSPORT_NAMES[call.type]}.`,
      );
    }
    owner = caller;
  }
  let session: ConversationSession;
  try {
    session = service.session(id as string, { owner });
  } catch (err) {
    if (err instanceof InvalidConversationIdError) {
      throw refuse.badId(`Invalid conversation id in ${where}: ${withoutPrefix(err.message)}`, err);
    }
    if (err instanceof InvalidOwnerError)
      throw refuse.badCaller(`Invalid caller id: ${withoutPrefix(err.message)}`, err);
    throw err;
  }
  try {
    await session.checkAccess();
  } catch (err) {
    if (err instanceof ConversationAccessDeniedError) throw refuse.denied(err);
    throw err;
  }
  return session;
}
