import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { SearchHighlight, SessionMemoryService } from '../../lib';
import type { Caller } from './auth/caller';
import { CurrentCaller } from './auth/current-caller.decorator';
import { titleOf } from './conversation-title';

/** Hits in one page of `GET /search`. */
export const SEARCH_PAGE = 20;

/** Longest query accepted, in characters. */
export const MAX_QUERY_LENGTH = 500;

/** One hit of `GET /search`: where it is, and the snippet to show. */
export interface SearchResult {
  conversationId: string;
  /** The conversation's title (the start of its first message), or null. */
  title: string | null;
  /** The item's row id in its branch. */
  itemId: string;
  /** The branch holding the item (`'main'` for the conversation's own rows). */
  branchId: string;
  /** `'user'` or `'assistant'` (tool calls and outputs are not indexed in the sample). */
  role: string;
  /** Plain text around the first match: the page escapes it (it builds text nodes). */
  snippet: string;
  /** The matched words: `snippet.slice(start, end)`. */
  highlights: SearchHighlight[];
  timestamp: Date;
}

/**
 * The search box of the chat page (sample/public/search.js): full-text search over the caller's own
 * conversations (`searchConversations({ query, owner })`, the module started with `search: true`).
 * Another caller's conversations never appear: the owner is checked in the search statement itself.
 */
@Controller('search')
export class SearchController {
  constructor(private readonly memory: SessionMemoryService) {}

  /**
   * `GET /search?q=<query>&cursor=<nextCursor>`: best matches first, `SEARCH_PAGE` at a time. Query
   * syntax: words (all must match), `"exact phrase"`, `-excluded`, `prefix*`. A query the module
   * refuses (nothing to search for, too long) is a 400 saying why.
   */
  @Get()
  async search(
    @CurrentCaller() caller: Caller,
    @Query('q') q?: unknown,
    @Query('cursor') cursor?: unknown,
  ): Promise<{ query: string; hits: SearchResult[]; nextCursor: string | null }> {
    if (typeof q !== 'string' || q.trim() === '' || q.length > MAX_QUERY_LENGTH) {
      throw new BadRequestException(`Give q once: the words to search for (1 to ${MAX_QUERY_LENGTH} characters).`);
    }
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new BadRequestException('cursor must be given once, as the nextCursor of the previous page.');
    }
    const page = await this.memory.searchConversations({
      query: q,
      owner: caller.id,
      limit: SEARCH_PAGE,
      cursor: cursor || undefined,
    });
    const titles = new Map<string, string | null>();
    for (const id of new Set(page.hits.map((h) => h.conversationId))) {
      titles.set(id, titleOf(await this.memory.session(id, { owner: caller.id }).getMetadata()));
    }
    return {
      query: q,
      hits: page.hits.map((h) => ({
        conversationId: h.conversationId,
        title: titles.get(h.conversationId) ?? null,
        itemId: h.itemId,
        branchId: h.branchId,
        role: h.role,
        snippet: h.snippet,
        highlights: h.highlights,
        timestamp: h.timestamp,
      })),
      nextCursor: page.nextCursor ?? null,
    };
  }
}
