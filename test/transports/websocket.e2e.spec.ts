import { UseFilters } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Conversation, ConversationIdSource, ConversationSession } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { LocalModel } from '../support/local-model';
import { CHAT_MODEL, ChatGateway, SocketErrorFilter } from './support/chat.gateway';
import { Adapter, TestSocket, connect } from './support/test-socket';
import { TransportApp, startTransportApp } from './support/transport-app';

/**
 * WebSocket gateways (`@nestjs/websockets`) with both adapters, socket.io and ws, over real sockets:
 * `@Conversation()` in `@SubscribeMessage()` handlers with the id from a handshake header, a handshake
 * query parameter or a resolver reading the message; ownership from the socket's authenticated caller;
 * a reply streamed over the socket by the real Agents SDK runner, and `changes$()` pushed to the other
 * sockets of the conversation (support/chat.gateway.ts, quoted in docs/transports.md).
 */

/** A gateway without the ws connection step (the upgrade request is not kept on the socket). */
@WebSocketGateway({ path: '/bare' })
@UseFilters(new SocketErrorFilter())
class BareGateway {
  @SubscribeMessage('say')
  async say(@Conversation() session: ConversationSession, @MessageBody() body: { text: string }) {
    await session.addItems([{ role: 'user', content: body.text }]);
    return { event: 'stored', data: session.conversationId };
  }
}

type Source = {
  name: string;
  source: ConversationIdSource;
  /** How a client names conversation `id`: in its handshake, or in each message. */
  handshake: (id: string) => { headers?: Record<string, string>; query?: Record<string, string> };
  message: (id: string) => Record<string, string>;
};

const SOURCES: Source[] = [
  {
    name: 'handshake header',
    source: { header: 'x-conversation-id' },
    handshake: (id) => ({ headers: { 'x-conversation-id': id } }),
    message: () => ({}),
  },
  {
    name: 'handshake query',
    source: { query: 'conversation' },
    handshake: (id) => ({ query: { conversation: id } }),
    message: () => ({}),
  },
  {
    name: 'resolver reading the message',
    source: (client: any, message: any, transport?: { type: string }) =>
      transport?.type === 'ws' && client.data?.caller ? message?.conversationId : undefined,
    handshake: () => ({}),
    message: (id) => ({ conversationId: id }),
  },
];

const ADAPTERS: Adapter[] = ['socket.io', 'ws'];
const uid = () => Math.random().toString(36).slice(2, 8);

describeEachDialect(
  'WebSocket gateways',
  (dialect, url) => {
    describe.each(ADAPTERS)('%s adapter', (adapter) => {
      describe.each(SOURCES)('conversation id from $name', ({ source, handshake, message }) => {
        let app: TransportApp;
        const sockets: TestSocket[] = [];
        const open = async (caller: string | undefined, id: string | undefined) => {
          const hs = id === undefined ? {} : handshake(id);
          const socket = await connect(adapter, app.baseUrl, '/chat', {
            ...hs,
            headers: { ...hs.headers, ...(caller ? { 'x-caller': caller } : {}) },
          });
          sockets.push(socket);
          return socket;
        };

        beforeAll(async () => {
          app = await startTransportApp({
            dialect,
            url,
            memory: { conversationId: source, owner: (client: any) => client.data?.caller },
            providers: [ChatGateway, { provide: CHAT_MODEL, useValue: new LocalModel() }],
            configure: (nest) => nest.useWebSocketAdapter(adapter === 'ws' ? new WsAdapter(nest) : new IoAdapter(nest)),
          });
        });
        afterEach(() => sockets.splice(0).forEach((socket) => socket.close()));
        afterAll(() => app?.close());

        it('streams the reply to the sender and pushes the changes to the other sockets of the conversation', async () => {
          const id = `ws-${adapter}-${uid()}`;
          const other = `ws-other-${uid()}`;
          const sender = await open('ada', id);
          const secondTab = await open('ada', id);
          const elsewhere = await open('ada', other);
          secondTab.send('watch', message(id));
          elsewhere.send('watch', message(other));
          await secondTab.next('watching');
          await elsewhere.next('watching');

          sender.send('say', { ...message(id), text: 'My name is Ada.' });
          const done = await sender.next('done');
          expect(done.conversationId).toBe(id);
          const deltas = sender.all('delta').map((d) => d.delta);
          expect(deltas.length).toBeGreaterThan(3); // streamed word by word
          expect(deltas.join('')).toBe(done.reply);
          expect(done.reply).toContain('My name is Ada.');

          // the other tab of the conversation: the user's message and the reply, as stored
          await secondTab.next('change', (c) => c.change.items?.some((item: any) => item.role === 'assistant'));
          const added = secondTab.all('change').flatMap((c) => c.change.items ?? []);
          expect(added.map((item: any) => item.role)).toEqual(['user', 'assistant']);
          expect(secondTab.all('delta')).toEqual([]);

          // the history is the conversation's: a second turn sees the first
          sender.send('say', { ...message(id), text: 'What is my name?' });
          const second = await sender.next('done', (d) => d.reply.includes('What is my name?'));
          expect(second.reply).toMatch(/2 user message/);
          expect((await app.memory.session(id).getItems()).map((item: any) => item.role)).toEqual([
            'user',
            'assistant',
            'user',
            'assistant',
          ]);
          expect(elsewhere.all('change')).toEqual([]);
          expect(await app.memory.session(other).getItems()).toEqual([]);
        });

        it("refuses another caller's conversation (403) and stores nothing of theirs", async () => {
          const id = `ws-own-${uid()}`;
          await app.memory.session(id, { owner: 'ada' }).addItems([{ role: 'user', content: 'private' }]);
          const intruder = await open('bob', id);
          intruder.send('say', { ...message(id), text: 'let me in' });
          intruder.send('watch', message(id));
          const errors = [
            await intruder.next('error'),
            await intruder.next('error', (e) => e !== intruder.all('error')[0]),
          ];
          for (const error of errors) {
            expect(error).toEqual({
              status: 403,
              code: 'SESSION_MEMORY_ACCESS_DENIED',
              message: expect.stringContaining('belongs to another caller'),
            });
          }
          expect(intruder.all('delta')).toEqual([]);
          expect(intruder.all('watching')).toEqual([]);
          expect(await app.memory.session(id).getItems()).toEqual([{ role: 'user', content: 'private' }]);
        });

        it('a socket without a caller is refused (the owner option found none)', async () => {
          const anonymous = await open(undefined, `ws-anon-${uid()}`);
          anonymous.send('say', { ...message(`ws-anon-${uid()}`), text: 'hi' });
          const error = await anonymous.next('error');
          expect(error.status).toBe(400);
          if (typeof source === 'function') {
            // this resolver names no conversation for a socket nobody authenticated
            expect(error).toMatchObject({ code: 'SESSION_MEMORY_INVALID_CONVERSATION_ID' });
            expect(error.message).toMatch(/Missing conversation id: set the conversation id resolver/);
          } else {
            expect(error).toEqual({
              status: 400,
              code: 'SESSION_MEMORY_INVALID_OWNER',
              message:
                'nestjs-session-memory: Who is calling is not known: the owner option found no caller id in this WebSocket message.',
            });
          }
        });

        it('a message naming no conversation gets an error saying what to configure', async () => {
          const lost = await open('ada', undefined);
          lost.send('say', { text: 'hi' });
          const error = await lost.next('error');
          expect(error).toEqual({
            status: 400,
            code: 'SESSION_MEMORY_INVALID_CONVERSATION_ID',
            message: expect.stringMatching(
              /^nestjs-session-memory: Missing conversation id: set .*WebSocket: the conversationId option reads \{ header \} and \{ query \} from the connection handshake; a resolver gets the socket and the message payload/,
            ),
          });
        });
      });
    });

    describe('socket.io adapter, a module reading the id from a route parameter', () => {
      let app: TransportApp;
      let socket: TestSocket | undefined;
      beforeAll(async () => {
        app = await startTransportApp({
          dialect,
          url,
          memory: { conversationId: { param: 'id' } },
          providers: [BareGateway],
          configure: (nest) => nest.useWebSocketAdapter(new IoAdapter(nest)),
        });
      });
      afterAll(async () => {
        socket?.close();
        await app?.close();
      });

      it('is told which sources a WebSocket message has', async () => {
        socket = await connect('socket.io', app.baseUrl, '/bare');
        socket.send('say', { text: 'hi' });
        expect(await socket.next('error')).toEqual({
          status: 400,
          code: 'SESSION_MEMORY_INVALID_CONVERSATION_ID',
          message:
            'nestjs-session-memory: Cannot read the conversation id from route parameter :id in a WebSocket message (it has no route): ' +
            'set the conversationId option to { header }, { query } (both read from the handshake) or a resolver (it gets the socket and the message payload).',
        });
      });
    });

    describe('ws adapter, a gateway that does not keep the upgrade request', () => {
      let app: TransportApp;
      let socket: TestSocket | undefined;
      beforeAll(async () => {
        app = await startTransportApp({
          dialect,
          url,
          memory: { conversationId: { header: 'x-conversation-id' } },
          providers: [BareGateway],
          configure: (nest) => nest.useWebSocketAdapter(new WsAdapter(nest)),
        });
      });
      afterAll(async () => {
        socket?.close();
        await app?.close();
      });

      it('is told to keep it in handleConnection (or to use a resolver)', async () => {
        socket = await connect('ws', app.baseUrl, '/bare', { headers: { 'x-conversation-id': `ws-bare-${uid()}` } });
        socket.send('say', { text: 'hi' });
        const error = await socket.next('error');
        expect(error.status).toBe(400);
        expect(error.message).toMatch(/handleConnection\(client, request\) \{ client\.upgradeReq = request; \}/);
      });
    });
  },
  ['sqlite', 'postgres'],
);
