import { ArgumentsHost, Catch, ExceptionFilter, Inject, OnModuleDestroy, UseFilters } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { Agent, run } from '@openai/agents';
import type { IncomingMessage } from 'http';
import { Subscription } from 'rxjs';
import { Conversation, ConversationSession, SessionMemoryService } from '../../../lib';

// docs/transports.md quotes this file: it is the tested gateway, for the socket.io and the ws adapter.

/** The agent's model, given by the test (a LocalModel). */
export const CHAT_MODEL = Symbol('CHAT_MODEL');

/** A socket of either adapter: socket.io's `Socket`, or the `ws` package's `WebSocket`. */
type AnySocket = any;

/** Sends one event: socket.io emits it; a ws socket gets `{ event, data }` as JSON (what WsAdapter sends). */
export function push(client: AnySocket, event: string, data: unknown): void {
  if (client.handshake) client.emit(event, data);
  else if (client.readyState === 1) client.send(JSON.stringify({ event, data }));
}

/**
 * Answers every error of a handler (the package's typed errors carry `getStatus()` and `code`) with an
 * `error` event on the socket: Nest's default WebSocket filter would say "Internal server error" over
 * socket.io and nothing at all over ws.
 */
@Catch()
export class SocketErrorFilter implements ExceptionFilter {
  catch(error: any, host: ArgumentsHost): void {
    const status = typeof error?.getStatus === 'function' ? error.getStatus() : 500;
    push(host.switchToWs().getClient(), 'error', {
      status,
      code: error?.code,
      message: status < 500 ? String(error?.message) : 'Internal server error',
    });
  }
}

/**
 * A chat over a WebSocket. The connection is authenticated once (here: the x-caller header of the
 * handshake, standing in for your authentication), `@Conversation()` opens each message's conversation
 * (the module's `conversationId` option: a handshake header or query parameter, or a resolver reading
 * the message), `say` streams the agent's reply to the sender, and `watch` pushes the conversation's
 * changes (`changes$()`, the caller's own only) to this socket, for example a second tab.
 */
@WebSocketGateway({ path: '/chat' })
@UseFilters(new SocketErrorFilter())
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  private readonly agent: Agent;
  private readonly watches = new Map<AnySocket, Subscription[]>();

  constructor(
    private readonly memory: SessionMemoryService,
    @Inject(CHAT_MODEL) model: any,
  ) {
    this.agent = new Agent({ name: 'Assistant', instructions: 'Answer briefly.', model });
  }

  /** socket.io passes the socket only (its handshake is on it); ws passes the upgrade request too. */
  handleConnection(client: AnySocket, request?: IncomingMessage): void {
    if (request) client.upgradeReq = request; // ws: what { header } / { query } read
    const headers = client.handshake?.headers ?? request?.headers ?? {};
    client.data = { ...client.data, caller: headers['x-caller'] }; // the `owner` option reads it
  }

  handleDisconnect(client: AnySocket): void {
    for (const subscription of this.watches.get(client) ?? []) subscription.unsubscribe();
    this.watches.delete(client);
  }

  onModuleDestroy(): void {
    for (const client of this.watches.keys()) this.handleDisconnect(client);
  }

  /** Streams the reply to the sender (`delta` events, then `done`); the history is stored by the runner. */
  @SubscribeMessage('say')
  async say(
    @Conversation() session: ConversationSession,
    @MessageBody() body: { text: string },
    @ConnectedSocket() client: AnySocket,
  ): Promise<void> {
    const result = await run(this.agent, String(body?.text ?? ''), { session, stream: true });
    for await (const delta of result.toTextStream())
      push(client, 'delta', { conversationId: session.conversationId, delta });
    await result.completed;
    push(client, 'done', { conversationId: session.conversationId, reply: result.finalOutput });
  }

  /** Pushes the conversation's changes to this socket until it disconnects (access was checked by `@Conversation()`). */
  @SubscribeMessage('watch')
  watch(@Conversation() session: ConversationSession, @ConnectedSocket() client: AnySocket): void {
    const subscription = this.memory
      .changes$(session.conversationId, { owner: session.owner })
      .subscribe((change) => push(client, 'change', { conversationId: session.conversationId, change }));
    this.watches.set(client, [...(this.watches.get(client) ?? []), subscription]);
    push(client, 'watching', { conversationId: session.conversationId });
  }
}
