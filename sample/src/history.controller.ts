import { Controller, Delete, Get, NotFoundException, ParseIntPipe, Query } from '@nestjs/common';
import { ConversationHistory } from './conversation-history.service';

/**
 * Reading and trimming a conversation's history. It depends on the request-scoped ConversationHistory,
 * so Nest makes this controller request-scoped as well (one instance per request).
 */
@Controller('conversations')
export class HistoryController {
  constructor(private readonly history: ConversationHistory) {}

  /** The stored items, oldest first; `?limit=N` returns only the newest N. */
  @Get(':id/items')
  async items(@Query('limit', new ParseIntPipe({ optional: true })) limit?: number) {
    return { conversationId: this.history.conversationId, items: await this.history.list(limit) };
  }

  /** Removes and returns the newest item (undo the last turn by calling it twice). */
  @Delete(':id/items/last')
  async popLast() {
    const item = await this.history.popLast();
    if (item === undefined) {
      throw new NotFoundException(
        `Conversation ${JSON.stringify(this.history.conversationId)} has no items to remove.`,
      );
    }
    return { conversationId: this.history.conversationId, removed: item };
  }
}
