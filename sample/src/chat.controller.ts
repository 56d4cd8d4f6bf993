import {
  BadRequestException,
  BeforeApplicationShutdown,
  Body,
  Controller,
  Get,
  Logger,
  MessageEvent,
  ParseIntPipe,
  Post,
  Query,
  Req,
  Res,
  Sse,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  EMPTY,
  Observable,
  Subject,
  catchError,
  concatMap,
  finalize,
  from,
  map,
  of,
  startWith,
  takeUntil,
  throwError,
} from 'rxjs';
import {
  Conversation,
  ConversationAccessDeniedError,
  ConversationSession,
  SessionItem,
  SessionMemoryError,
  SessionMemoryService,
} from '../../lib';
import { AssistantService } from './assistant.service';
import type { Caller } from './auth/caller';
import { CurrentCaller } from './auth/current-caller.decorator';
import { titleFor, titleOf } from './conversation-title';
import { SendMessageBody, readMessageText } from './conversations.controller';
import { nodeResponse } from './streams/node-response';
import { StreamSlots } from './streams/stream-slots';

/** Conversations in one page of `GET /conversations`. */
export const CONVERSATIONS_PER_PAGE = 20;

/** Items in one page of `GET /conversations/:id/history` when `limit` is left out, and the most allowed. */
export const HISTORY_PAGE = { default: 20, max: 100 } as const;

/** One conversation of `GET /conversations`. */
export interface ConversationListEntry {
  id: string;
  /** The `title` of its metadata (the start of its first message), or null. */
  title: string | null;
  updatedAt: Date;
}

/** One page of a conversation's history, oldest item first. */
export interface HistoryPage {
  conversationId: string;
  title: string | null;
  items: SessionItem[];
  /** Whether there are items older than the first of `items`. */
  hasOlder: boolean;
  /** The `before` of the next older page, or null when there is none. */
  before: string | null;
}

/** What the page's EventSource receives for each change of the conversation (`data` of each event). */
export type ClientChange =
  | { type: 'ready' }
  | { type: 'added'; items: SessionItem[] }
  | { type: 'popped' }
  | { type: 'cleared' }
  | { type: 'denied' };

/**
 * The API of the chat page (sample/public): the caller's conversations, a page of one conversation's
 * history, a reply streamed as Server-Sent Events while the model produces it, and a conversation's
 * changes as they happen (what another tab on the same conversation shows live).
 *
 * The caller is the one `CallerGuard` established (401 without one); `@Conversation()` refuses another
 * caller's conversation with 403 before a handler runs, so before any stream starts. The two event
 * streams take a slot of `StreamSlots` first (429 past the caps per caller and in total), given back
 * when the stream ends.
 */
@Controller('conversations')
export class ChatController implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ChatController.name);
  /** Ends the open change streams when the application closes (see beforeApplicationShutdown). */
  private readonly shutdown$ = new Subject<void>();
  private closing = false;

  constructor(
    private readonly assistant: AssistantService,
    private readonly memory: SessionMemoryService,
    private readonly slots: StreamSlots,
  ) {}

  /** The caller's conversations, most recently updated first, `CONVERSATIONS_PER_PAGE` at a time. */
  @Get()
  async list(
    @CurrentCaller() caller: Caller,
    @Query('cursor') cursor?: unknown,
  ): Promise<{ conversations: ConversationListEntry[]; nextCursor: string | null }> {
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new BadRequestException('cursor must be given once, as the nextCursor of the previous page.');
    }
    const page = await this.memory.listSessions({
      owner: caller.id,
      limit: CONVERSATIONS_PER_PAGE,
      cursor: cursor || undefined,
    });
    return {
      conversations: page.sessions.map((s) => ({
        id: s.conversationId,
        title: titleOf(s.metadata),
        updatedAt: s.updatedAt,
      })),
      nextCursor: page.nextCursor ?? null,
    };
  }

  /**
   * Up to `limit` items (default 20, at most 100), oldest first: the newest ones, or, with `before` (the
   * `before` of the page shown last), the ones stored before that page ("load older messages"). A keyset
   * read (`session.getItemsPage`): a page costs `limit` rows however far back it is, and items added
   * meanwhile do not shift the pages.
   */
  @Get(':id/history')
  async history(
    @Conversation() session: ConversationSession,
    @Query('limit', new ParseIntPipe({ optional: true })) limit: number = HISTORY_PAGE.default,
    @Query('before') before?: string | string[],
  ): Promise<HistoryPage> {
    if (limit < 1 || limit > HISTORY_PAGE.max) {
      throw new BadRequestException(`limit must be between 1 and ${HISTORY_PAGE.max}.`);
    }
    if (Array.isArray(before)) throw new BadRequestException('Give before once.');
    const page = await session.getItemsPage({ limit, before });
    return {
      conversationId: session.conversationId,
      title: titleOf(await session.getMetadata()),
      items: page.items,
      hasOlder: page.before !== undefined,
      before: page.before ?? null,
    };
  }

  /**
   * Runs the agent on the message as a streamed run (`run(agent, text, { session, stream: true })`) and
   * answers with Server-Sent Events: `delta` (`{"text"}`, a piece of the reply as the model produces it),
   * then `done` (`{"reply"}`, once the turn is stored) or `error` (`{"message"}`). The first message of
   * a conversation becomes its title (metadata `title`), written before the run. A POST, so the page
   * reads it with fetch(); errors before the stream starts (401, 403, 400, 429) are ordinary JSON
   * answers. The reply holds a stream slot until its run has finished: a client that leaves does not
   * stop the run (the turn is still stored), so its slot is given back when the run ends.
   */
  @Post(':id/replies')
  async reply(
    @Conversation() session: ConversationSession,
    @CurrentCaller() caller: Caller,
    @Body() body: SendMessageBody,
    @Res() response: Response,
  ): Promise<void> {
    const text = readMessageText(body);
    const release = this.slots.acquire(caller.id);
    try {
      await this.streamReply(session, text, response);
    } finally {
      release();
    }
  }

  private async streamReply(session: ConversationSession, text: string, reply: Response): Promise<void> {
    const metadata = await session.getMetadata();
    if (typeof metadata?.title !== 'string') await session.setMetadata({ ...metadata, title: titleFor(text) });

    const response = nodeResponse(reply, true); // Express's response, or Fastify's under its reply
    response.statusCode = 200;
    response.setHeader('content-type', 'text/event-stream; charset=utf-8');
    response.setHeader('cache-control', 'no-cache, no-transform');
    response.setHeader('x-accel-buffering', 'no'); // nginx: do not buffer the stream
    response.flushHeaders();
    response.socket?.setNoDelay(true);
    const send = (event: 'delta' | 'done' | 'error', data: object) => {
      // A client that left does not stop the run: the turn is still stored, and shown on its next visit.
      if (!response.writableEnded && !response.destroyed)
        response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    try {
      const reply = await this.assistant.streamReply(session, text, (delta) => send('delta', { text: delta }));
      send('done', { reply });
    } catch (err) {
      this.logger.error(
        `Streamed reply in ${JSON.stringify(session.conversationId)} failed: ${(err as Error)?.message}`,
      );
      send('error', {
        message: err instanceof SessionMemoryError ? err.message : 'The assistant could not answer. Try again.',
      });
    }
    response.end();
  }

  /**
   * The conversation's changes as Server-Sent Events, for an EventSource (which sends no custom
   * headers: in demo mode `?caller=` names the caller; a real application uses a cookie). The first
   * event is `{"type":"ready"}`, sent once the subscription is in place, and carries a reconnection
   * delay of 1 s; then `added` (with the items), `popped`, `cleared`. The stream holds a slot of
   * `StreamSlots` (429 past the caps) until it ends: client gone, access lost, or shutdown. The stream
   * and its connection end when the application closes, and the browser reconnects by itself.
   */
  @Sse(':id/events')
  events(
    @Conversation() session: ConversationSession,
    @CurrentCaller() caller: Caller,
    @Req() request: Request,
    @Res({ passthrough: true }) reply?: Response,
  ): Observable<MessageEvent> {
    // Express's response (also request.res), or Fastify's under its reply (SAMPLE_PLATFORM=fastify).
    const response = reply ? nodeResponse(reply) : request.res;
    // At shutdown the stream ends, and so must its connection: the browser reconnects on the same
    // kept-alive connection, and the HTTP server waits for its connections before it closes.
    response?.once('finish', () => {
      if (this.closing) request.socket.end(); // Fastify's request has the socket too
    });
    if (this.closing) return EMPTY;
    const release = this.slots.acquire(caller.id); // 429 before the stream starts
    // Whichever comes first: the connection closes (client gone, or the stream ended), or Nest unsubscribes.
    response?.once('close', release);
    const { conversationId } = session;
    const owner = caller.id;
    // @Conversation() has checked the caller before this runs (403 otherwise). A conversation nobody
    // owns yet can be subscribed to by anyone, and changes$() checks only when subscribing: so check
    // again before passing each change on, and end the stream once another caller has claimed it.
    return this.memory.changes$(conversationId).pipe(
      concatMap((change) => from(this.memory.assertAccess(conversationId, owner)).pipe(map(() => change))),
      map((change): ClientChange => {
        if (change.type === 'added') return { type: 'added', items: change.items };
        return { type: change.type };
      }),
      catchError((err: unknown) =>
        err instanceof ConversationAccessDeniedError ? of<ClientChange>({ type: 'denied' }) : throwError(() => err),
      ),
      map((data): MessageEvent => ({ data })),
      startWith<MessageEvent>({ data: { type: 'ready' } satisfies ClientChange, retry: 1000 }),
      takeUntil(this.shutdown$),
      finalize(release),
    );
  }

  /**
   * Nest lifecycle hook. Ends the open change streams (and their connections) before the HTTP server
   * closes: Nest closes the server before the module's shutdown hook completes changes$(), and the
   * server waits for its connections, so an open EventSource would otherwise keep `app.close()` (and
   * Ctrl-C) waiting.
   */
  beforeApplicationShutdown(): void {
    this.closing = true;
    this.shutdown$.next();
    this.shutdown$.complete();
  }
}
