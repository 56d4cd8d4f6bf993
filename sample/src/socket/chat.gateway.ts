import { BadRequestException, BeforeApplicationShutdown, UseFilters } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { IncomingMessage } from 'http';
import { Subscription, concatMap, from, map } from 'rxjs';
import { ConversationAccessDeniedError, ConversationSession, SessionItem, SessionMemoryService } from '../../../lib';
import { AssistantService } from '../assistant.service';
import { CallerAuthentication } from '../auth/caller-authentication.service';
import { titleFor } from '../conversation-title';
import { SendMessageBody, readMessageText } from '../conversations.controller';
import { StreamSlots } from '../streams/stream-slots';
import { authenticateSocket, socketCaller } from './socket-caller';
import { ChatSocket, SocketErrorFilter, push } from './socket-events';

/** Where the chat page's WebSocket connects (`ws://host/ws?caller=...`). */
export const SOCKET_PATH = '/ws';

/** Newest items sent with `joined`. */
export const JOINED_HISTORY = 50;

/** What a client sends: the conversation, and for `say` the message. */
export interface SocketMessage {
  conversationId?: unknown;
  text?: unknown;
}

/**
 * The chat over one WebSocket (the ws adapter; page: sample/public/socket.html), beside the HTTP API
 * and with the same rules. A connection is authenticated once, from its upgrade request, and holds
 * one slot of `StreamSlots` (closed with 1013 past the caps). Messages name their conversation:
 * - `join` `{ conversationId }`: answers `joined` (`{ conversationId, items }`, the newest items), then
 *   pushes the conversation's changes (`change`: `{ conversationId, type, items? }`), including those
 *   made over HTTP, by another tab, or by another instance.
 * - `say` `{ conversationId, text }`: streams the reply to this socket (`delta` `{ conversationId,
 *   text }`, then `done` `{ conversationId, reply }`); the stored turn reaches every joined socket as a
 *   `change`.
 *
 * The conversation id comes with each message, so the gateway opens the session with
 * `memory.session(id, { owner })` and checks access: this module instance reads `:id` for HTTP
 * routes, which a WebSocket message has not (docs/transports.md shows `@Conversation()` in a gateway
 * whose module reads the id from the handshake or the message).
 */
@UseFilters(new SocketErrorFilter())
@WebSocketGateway({ path: SOCKET_PATH })
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect, BeforeApplicationShutdown {
  private readonly sockets = new Map<ChatSocket, { release?: () => void; watches: Map<string, Subscription> }>();

  constructor(
    private readonly assistant: AssistantService,
    private readonly memory: SessionMemoryService,
    private readonly slots: StreamSlots,
    private readonly authentication: CallerAuthentication,
  ) {}

  /** ws passes the upgrade request: the connection is authenticated from it, once. */
  async handleConnection(client: ChatSocket, request: IncomingMessage): Promise<void> {
    const state: { release?: () => void; watches: Map<string, Subscription> } = { watches: new Map() };
    this.sockets.set(client, state);
    try {
      const caller = await authenticateSocket(client, request, this.authentication);
      state.release = this.slots.acquire(caller.id);
      if (!this.sockets.has(client)) this.handleDisconnect(client); // it left meanwhile
    } catch (err) {
      const status = (err as { getStatus?: () => number }).getStatus?.() ?? 500;
      push(client, 'error', { status, message: (err as Error).message });
      client.close(status === 429 ? 1013 : 1008, status === 429 ? 'Try again later' : 'Not authenticated');
    }
  }

  handleDisconnect(client: ChatSocket): void {
    const state = this.sockets.get(client);
    this.sockets.delete(client);
    for (const subscription of state?.watches.values() ?? []) subscription.unsubscribe();
    state?.release?.();
  }

  /** Ends the change subscriptions before the server closes. */
  beforeApplicationShutdown(): void {
    for (const client of [...this.sockets.keys()]) this.handleDisconnect(client);
  }

  @SubscribeMessage('join')
  async join(@ConnectedSocket() client: ChatSocket, @MessageBody() body: SocketMessage): Promise<void> {
    const session = await this.open(client, body);
    const { conversationId } = session;
    const owner = session.owner!;
    const state = this.sockets.get(client);
    if (!state || state.watches.has(conversationId)) return;
    // As the HTTP change stream: access is checked again before each change is passed on.
    const subscription = this.memory
      .changes$(conversationId)
      .pipe(concatMap((change) => from(this.memory.assertAccess(conversationId, owner)).pipe(map(() => change))))
      .subscribe({
        next: (change) =>
          push(client, 'change', {
            conversationId,
            type: change.type,
            ...(change.type === 'added' ? { items: change.items } : {}),
          }),
        error: (err: unknown) => {
          if (err instanceof ConversationAccessDeniedError) push(client, 'change', { conversationId, type: 'denied' });
          state.watches.delete(conversationId);
        },
      });
    state.watches.set(conversationId, subscription);
    const page = await session.getItemsPage({ limit: JOINED_HISTORY });
    push(client, 'joined', { conversationId, items: page.items satisfies SessionItem[] });
  }

  @SubscribeMessage('say')
  async say(@ConnectedSocket() client: ChatSocket, @MessageBody() body: SocketMessage): Promise<void> {
    const text = readMessageText(body as SendMessageBody);
    const session = await this.open(client, body);
    const { conversationId } = session;
    const metadata = await session.getMetadata();
    if (typeof metadata?.title !== 'string') await session.setMetadata({ ...metadata, title: titleFor(text) });
    const reply = await this.assistant.streamReply(session, text, (delta) =>
      push(client, 'delta', { conversationId, text: delta }),
    );
    push(client, 'done', { conversationId, reply });
  }

  /** The message's conversation, opened for the socket's caller; 403 (ConversationAccessDeniedError) for another's. */
  private async open(client: ChatSocket, body: SocketMessage): Promise<ConversationSession> {
    const caller = await socketCaller(client);
    if (typeof body?.conversationId !== 'string' || body.conversationId === '') {
      throw new BadRequestException('Name the conversation: { "conversationId": "..." }.');
    }
    const session = this.memory.session(body.conversationId, { owner: caller.id });
    await session.checkAccess();
    return session;
  }
}
