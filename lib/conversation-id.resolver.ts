import { BadRequestException } from '@nestjs/common';
import { ConversationSession } from './conversation-session';
import { InvalidConversationIdError } from './exceptions';
import type { ConversationIdSource } from './interfaces';
import { DEFAULT_CONVERSATION_ID_HEADER } from './session-memory.constants';
import type { SessionMemoryService } from './session-memory.service';

/**
 * Reads the conversation id of a request as the options say (header, route param, query parameter
 * or resolver) and returns its session. A missing or invalid id becomes a 400 `BadRequestException`;
 * whatever a resolver throws (a `ForbiddenException`, say) passes through unchanged.
 * @internal
 */
export async function resolveConversationSession(
  request: any,
  service: SessionMemoryService,
  source: ConversationIdSource | undefined,
): Promise<ConversationSession> {
  const src = source ?? { header: DEFAULT_CONVERSATION_ID_HEADER };
  let id: unknown;
  let where: string;
  if (typeof src === 'function') {
    id = await src(request);
    where = 'the conversation id resolver';
  } else if ('header' in src) {
    const name = src.header.toLowerCase();
    id = request?.headers?.[name];
    where = `header ${name}`;
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
  if (Array.isArray(id)) {
    throw new BadRequestException(`Give exactly one conversation id in ${where}.`);
  }
  try {
    return service.session(id as string);
  } catch (err) {
    if (err instanceof InvalidConversationIdError) {
      throw new BadRequestException(`Invalid conversation id in ${where}: ${err.message}`);
    }
    throw err;
  }
}
