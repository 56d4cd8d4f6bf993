import { Injectable, Scope } from '@nestjs/common';
import { ConversationSession, InjectConversationSession, SessionItem } from '../../lib';

/**
 * The history of the conversation the current request names (route param `:id`), through the
 * request-scoped session. Injecting it makes its consumers request-scoped too (here: HistoryController),
 * so Nest builds one of each per request. `@Conversation()` (see ConversationsController) avoids that.
 */
@Injectable({ scope: Scope.REQUEST })
export class ConversationHistory {
  constructor(@InjectConversationSession() private readonly session: ConversationSession) {}

  /** The id of the request's conversation. */
  get conversationId(): string {
    return this.session.conversationId;
  }

  /** The newest `limit` items (all when undefined), oldest first. */
  list(limit?: number): Promise<SessionItem[]> {
    return this.session.getItems(limit);
  }

  /** Removes and returns the newest item, or undefined when the conversation is empty. */
  popLast(): Promise<SessionItem | undefined> {
    return this.session.popItem();
  }
}
