import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule } from '@nestjs/graphql';
import { Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ConversationIdSource } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { LocalModel } from '../support/local-model';
import { ConversationResolver, GRAPHQL_CHAT_MODEL, ScopedConversationResolver } from './support/conversation.resolver';
import { TransportApp, eventually, startTransportApp } from './support/transport-app';

/**
 * GraphQL (`@nestjs/graphql` with the Apollo driver, code first) over real HTTP and a real graphql-ws
 * WebSocket: `@Conversation()` in queries and mutations (the request taken from the GraphQL context),
 * the request-scoped session in a request-scoped resolver, and a subscription over `changes$()`, with
 * ownership (FORBIDDEN) and a missing id (BAD_REQUEST).
 */

/**
 * The GraphQL module as docs/transports.md configures it: HTTP operations get `{ req }`, graphql-ws
 * subscriptions the upgrade request as `req` and the client's `connectionParams` (a browser cannot set
 * headers on a WebSocket).
 */
const graphqlModule = GraphQLModule.forRoot<ApolloDriverConfig>({
  driver: ApolloDriver,
  autoSchemaFile: true,
  subscriptions: { 'graphql-ws': true },
  context: (ctx: any) =>
    ctx.extra ? { req: ctx.extra.request, connectionParams: ctx.connectionParams } : { req: ctx.req },
});

/** The caller: the x-caller header, or for a subscription the `caller` connection parameter. */
const owner = (req: any, _args: unknown, transport?: { context?: any }) =>
  transport?.context?.connectionParams?.caller ?? req.headers['x-caller'];

type Source = {
  name: string;
  source: ConversationIdSource;
  /** Headers and variables that name conversation `id`. */
  names: (id: string) => { headers: Record<string, string>; variables: Record<string, string> };
};

const SOURCES: Source[] = [
  {
    name: 'header',
    source: { header: 'x-conversation-id' },
    names: (id) => ({ headers: { 'x-conversation-id': id }, variables: {} }),
  },
  {
    name: 'resolver reading the field arguments',
    source: (_req: any, args: any, transport?: { type: string }) =>
      transport?.type === 'graphql' ? args?.conversationId : undefined,
    names: (id) => ({ headers: {}, variables: { conversationId: id } }),
  },
];

const uid = () => Math.random().toString(36).slice(2, 8);

async function gql(
  app: TransportApp,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string>,
) {
  const res = await fetch(`${app.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

describeEachDialect(
  'GraphQL (Apollo)',
  (dialect, url) => {
    describe.each(SOURCES)('conversation id from $name', ({ source, names }) => {
      let app: TransportApp;
      const clients: Client[] = [];
      beforeAll(async () => {
        app = await startTransportApp({
          dialect,
          url,
          memory: { conversationId: source, owner },
          imports: [graphqlModule],
          providers: [
            ConversationResolver,
            ScopedConversationResolver,
            { provide: GRAPHQL_CHAT_MODEL, useValue: new LocalModel() },
          ],
        });
      });
      afterAll(async () => {
        await Promise.all(clients.map((client) => client.dispose()));
        await app?.close();
      });

      /** A graphql-ws client sending `headers` on its upgrade request and `connectionParams` in its first message. */
      const subscriber = (headers: Record<string, string>, connectionParams: Record<string, string>) => {
        class WebSocketWithHeaders extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers });
          }
        }
        const client = createClient({
          url: `ws://127.0.0.1:${app.port}/graphql`,
          webSocketImpl: WebSocketWithHeaders,
          connectionParams,
          lazy: true,
          retryAttempts: 0,
        });
        clients.push(client);
        return client;
      };

      it('a mutation and queries reach the conversation the operation names (both decorators)', async () => {
        const id = `gql-${uid()}`;
        const { headers, variables } = names(id);
        const said = await gql(
          app,
          'mutation($text: String!, $conversationId: String) { say(text: $text, conversationId: $conversationId) }',
          { text: 'My name is Ada.', ...variables },
          { ...headers, 'x-caller': 'ada' },
        );
        expect(said.errors).toBeUndefined();
        expect(said.data.say).toContain('My name is Ada.');
        // the request-scoped session is built before the field runs, without its arguments: header sources only
        for (const field of typeof source === 'function' ? ['history'] : ['history', 'scopedHistory']) {
          const read = await gql(
            app,
            `query($conversationId: String) { ${field}(conversationId: $conversationId) { role text } }`,
            variables,
            { ...headers, 'x-caller': 'ada' },
          );
          expect(read.errors).toBeUndefined();
          expect(read.data[field]).toEqual([
            { role: 'user', text: 'My name is Ada.' },
            { role: 'assistant', text: said.data.say },
          ]);
        }
        if (typeof source === 'function') {
          const scoped = await gql(
            app,
            'query($conversationId: String) { scopedHistory(conversationId: $conversationId) { text } }',
            variables,
            { 'x-caller': 'ada' },
          );
          expect(scoped.errors![0].extensions!.code).toBe('BAD_REQUEST');
        }
        expect((await app.memory.session(id).getItems()).length).toBe(2);
      });

      it("another caller's conversation is FORBIDDEN, a missing id BAD_REQUEST saying what to set", async () => {
        const id = `gql-own-${uid()}`;
        await app.memory.session(id, { owner: 'ada' }).addItems([{ role: 'user', content: 'private' }]);
        const { headers, variables } = names(id);
        const refused = await gql(
          app,
          'query($conversationId: String) { history(conversationId: $conversationId) { text } }',
          variables,
          { ...headers, 'x-caller': 'bob' },
        );
        expect(refused.data).toBeNull();
        expect(refused.errors![0].extensions!.code).toBe('FORBIDDEN');
        expect(refused.errors![0].message).toContain('belongs to another caller');

        const missing = await gql(app, '{ history { text } }', {}, { 'x-caller': 'ada' });
        expect(missing.errors![0].extensions!.code).toBe('BAD_REQUEST');
        expect(missing.errors![0].message).toMatch(
          /^Missing conversation id: set .*\(GraphQL: \{ header \} and \{ query \} read the request in the GraphQL context; a resolver gets that request and the field arguments\)\.$/,
        );
      });

      it('a subscription over changes$() gets the changes of the conversation it names, and refuses another caller', async () => {
        const id = `gql-sub-${uid()}`;
        const { headers, variables } = names(id);
        const events: any[] = [];
        const errors: unknown[] = [];
        const subscription =
          'subscription($conversationId: String) { changes(conversationId: $conversationId) { type items { role text } } }';
        const ada = subscriber(headers, { caller: 'ada' });
        const stop = ada.subscribe(
          { query: subscription, variables },
          {
            next: (value) => events.push(value),
            error: (error) => errors.push(error),
            complete: () => undefined,
          },
        );
        // the subscription is live once the server has subscribed to changes$(): write until it reports
        let sent = 0;
        while (events.length === 0 && sent < 50) {
          await gql(
            app,
            'mutation($text: String!, $conversationId: String) { say(text: $text, conversationId: $conversationId) }',
            { text: `hello ${sent++}`, ...variables },
            { ...headers, 'x-caller': 'ada' },
          );
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await eventually(() => events.length >= 1, 'a change');
        expect(errors).toEqual([]);
        // one turn: the runner stores the user's message and the reply in one write, one `added` change
        const change = events[0].data.changes;
        expect(change.type).toBe('added');
        expect(change.items.map((item: any) => item.role)).toEqual(['user', 'assistant']);
        // (a change can reach the subscriber after the loop sent the next message: any message sent so far)
        const said = /^hello (\d+)$/.exec(change.items[0].text);
        expect(Number(said?.[1])).toBeLessThan(sent);
        stop();

        const intruderErrors: any[] = [];
        const bob = subscriber(headers, { caller: 'bob' });
        const intruderEvents: unknown[] = [];
        await new Promise<void>((resolve) => {
          bob.subscribe(
            { query: subscription, variables },
            {
              next: (value) => {
                intruderEvents.push(value);
                resolve();
              },
              error: (error) => {
                intruderErrors.push(error);
                resolve();
              },
              complete: () => resolve(),
            },
          );
        });
        expect(intruderEvents).toEqual([
          { errors: [expect.objectContaining({ message: expect.stringContaining('belongs to another caller') })] },
        ]);
      });
    });

    describe("the Apollo driver's default context (no context option)", () => {
      let app: TransportApp;
      let client: Client | undefined;
      beforeAll(async () => {
        app = await startTransportApp({
          dialect,
          url,
          memory: { conversationId: { header: 'x-conversation-id' } },
          imports: [
            GraphQLModule.forRoot<ApolloDriverConfig>({
              driver: ApolloDriver,
              autoSchemaFile: true,
              subscriptions: { 'graphql-ws': true },
            }),
          ],
          providers: [ConversationResolver, { provide: GRAPHQL_CHAT_MODEL, useValue: new LocalModel() }],
        });
      });
      afterAll(async () => {
        await client?.dispose();
        await app?.close();
      });

      it("a query reads the header of { req }, a subscription the upgrade request's (ctx.extra.request)", async () => {
        const id = `gql-default-${uid()}`;
        await app.memory.session(id).addItems([{ role: 'user', content: 'first' }]);
        const read = await gql(app, '{ history { text } }', {}, { 'x-conversation-id': id });
        expect(read).toEqual({ data: { history: [{ text: 'first' }] } });

        class WebSocketWithHeaders extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers: { 'x-conversation-id': id } });
          }
        }
        client = createClient({
          url: `ws://127.0.0.1:${app.port}/graphql`,
          webSocketImpl: WebSocketWithHeaders,
          retryAttempts: 0,
        });
        const events: any[] = [];
        const errors: unknown[] = [];
        client.subscribe(
          { query: 'subscription { changes { type items { text } } }' },
          {
            next: (value) => events.push(value),
            error: (error) => errors.push(error),
            complete: () => undefined,
          },
        );
        for (let n = 0; events.length === 0 && errors.length === 0 && n < 50; n++) {
          await app.memory.session(id).addItems([{ role: 'user', content: `more ${n}` }]);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(errors).toEqual([]);
        expect(events[0].data.changes).toEqual({
          type: 'added',
          items: [{ text: expect.stringMatching(/^more \d+$/) }],
        });
      });
    });
  },
  ['sqlite', 'postgres'],
);
