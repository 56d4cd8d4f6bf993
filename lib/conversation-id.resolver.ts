import { BadRequestException, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { ConversationSession } from './conversation-session';
import { ConversationAccessDeniedError, InvalidConversationIdError, InvalidOwnerError } from './exceptions';
import { withoutPrefix } from './exceptions/message-prefix';
import type { SessionMemoryModuleOptions } from './interfaces';
import { DEFAULT_CONVERSATION_ID_HEADER } from './session-memory.constants';
import type { SessionMemoryService } from './session-memory.service';

/** Printable ASCII: what a header value can carry that every server reads the same way. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * How many times a header was sent, from the raw headers (Node joins repeated custom headers into
 * one `"a, b"` value). Express and Nest's adapters expose `rawHeaders` (Fastify on `request.raw`).
 */
function headerCount(request: any, name: string): number | undefined {
  const raw: unknown = request?.rawHeaders ?? request?.raw?.rawHeaders;
  if (!Array.isArray(raw)) return undefined;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (String(raw[i]).toLowerCase() === name) n++;
  return n;
}

/** The raw request target, to tell a U+FFFD that was sent from one made by decoding bytes that are not UTF-8. */
function rawUrl(request: any): string {
  return String(request?.originalUrl ?? request?.url ?? request?.raw?.url ?? '');
}

/**
 * Reads the conversation id of a request as the options say (header, route param, query parameter
 * or resolver) and returns its session, opened for the caller when the `owner` option is set (whose
 * read access is checked here, before the handler runs). Refused with a 400 `BadRequestException`:
 * a missing or invalid id, a header sent twice, a header that is not printable ASCII (its bytes
 * would be read as Latin-1), and a URL id that held bytes that are not UTF-8. A missing caller is a
 * 401; another caller's conversation a 403 `ForbiddenException` whose `cause` is the
 * `ConversationAccessDeniedError`. Whatever a resolver throws passes through unchanged.
 * @internal
 */
export async function resolveConversationSession(
  request: any,
  service: SessionMemoryService,
  options: Pick<SessionMemoryModuleOptions, 'conversationId' | 'owner'>,
): Promise<ConversationSession> {
  const src = options.conversationId ?? { header: DEFAULT_CONVERSATION_ID_HEADER };
  let id: unknown;
  let where: string;
  if (typeof src === 'function') {
    id = await src(request);
    where = 'the conversation id resolver';
  } else if ('header' in src) {
    const name = src.header.toLowerCase();
    id = request?.headers?.[name];
    where = `header ${name}`;
    if ((headerCount(request, name) ?? 0) > 1) {
      throw new BadRequestException(`Give exactly one conversation id in ${where}: it was sent more than once.`);
    }
    if (typeof id === 'string' && !PRINTABLE_ASCII.test(id)) {
      throw new BadRequestException(
        `The conversation id in ${where} must be printable ASCII (header bytes are not read as UTF-8). ` +
          'Percent-encode it and decode it in a conversationId resolver, or send it in the URL.',
      );
    }
  } else if ('param' in src) {
    id = request?.params?.[src.param];
    where = `route parameter :${src.param}`;
  } else {
    id = request?.query?.[src.query];
    where = `query parameter ${src.query}`;
  }
  if (id === undefined || id === null || id === '') {
    throw new BadRequestException(`Missing conversation id: set ${where}.`);
  }
  if (Array.isArray(id) || (typeof id === 'object' && id !== null)) {
    throw new BadRequestException(`Give exactly one conversation id in ${where}.`);
  }
  if (
    typeof src !== 'function' &&
    !('header' in src) &&
    typeof id === 'string' &&
    id.includes('\uFFFD') &&
    !/%EF%BF%BD/i.test(rawUrl(request)) &&
    !rawUrl(request).includes('\uFFFD')
  ) {
    throw new BadRequestException(
      `The conversation id in ${where} is not valid UTF-8 once percent-decoded (e.g. %FF). Percent-encode its UTF-8 bytes.`,
    );
  }
  let owner: string | undefined;
  if (options.owner) {
    const caller = await options.owner(request);
    if (caller === undefined || caller === null || caller === '') {
      throw new UnauthorizedException(
        'Who is calling is not known: the owner option found no caller id in this request.',
      );
    }
    owner = caller;
  }
  let session: ConversationSession;
  try {
    session = service.session(id as string, { owner });
  } catch (err) {
    if (err instanceof InvalidConversationIdError) {
      throw new BadRequestException(`Invalid conversation id in ${where}: ${withoutPrefix(err.message)}`, {
        cause: err,
        description: 'Bad Request',
      });
    }
    if (err instanceof InvalidOwnerError) {
      throw new UnauthorizedException(`Invalid caller id: ${withoutPrefix(err.message)}`, {
        cause: err,
        description: 'Unauthorized',
      });
    }
    throw err;
  }
  try {
    await session.checkAccess();
  } catch (err) {
    if (err instanceof ConversationAccessDeniedError)
      throw new ForbiddenException(err.message, { cause: err, description: 'Forbidden' });
    throw err;
  }
  return session;
}
