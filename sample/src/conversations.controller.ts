import { BadRequestException, Body, Controller, Delete, HttpCode, Post } from '@nestjs/common';
import { Conversation, ConversationSession, SessionMemoryService } from '../../lib';
import { AssistantService } from './assistant.service';

/** Body of `POST /conversations/:id/messages`. */
export interface SendMessageBody {
  text: string;
}

/** Longest message accepted, in characters. */
export const MAX_TEXT_LENGTH = 10_000;

/**
 * The text of a `{"text": "..."}` body.
 * @throws BadRequestException (400) unless it is a non-empty string of at most MAX_TEXT_LENGTH characters.
 */
export function readMessageText(body: SendMessageBody | undefined): string {
  const text = body?.text;
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_TEXT_LENGTH) {
    throw new BadRequestException(
      `Send a JSON body {"text": "..."} with a non-empty text of at most ${MAX_TEXT_LENGTH} characters.`,
    );
  }
  return text;
}

/**
 * Talking to the assistant, and deleting conversations. A singleton: `@Conversation()` hands each call
 * the session of the `:id` in its URL without making anything request-scoped.
 */
@Controller('conversations')
export class ConversationsController {
  constructor(
    private readonly assistant: AssistantService,
    private readonly memory: SessionMemoryService,
  ) {}

  /** Runs the agent on the message, with the conversation's stored history, and returns its reply. */
  @Post(':id/messages')
  @HttpCode(200)
  async send(@Conversation() session: ConversationSession, @Body() body: SendMessageBody) {
    const text = readMessageText(body);
    const reply = await this.assistant.reply(session, text);
    return { conversationId: session.conversationId, reply };
  }

  /** Deletes the conversation (its items and its session row); only its owner may. */
  @Delete(':id')
  async remove(@Conversation() session: ConversationSession) {
    const deleted = await this.memory.deleteSession(session.conversationId, { owner: session.owner });
    return { conversationId: session.conversationId, deleted };
  }
}
