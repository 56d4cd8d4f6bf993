import { Body, Controller, Get, MessageEvent, Param, Post, Req, Sse } from '@nestjs/common';
import { Observable, map } from 'rxjs';
import {
  Conversation,
  ConversationIdSource,
  ConversationSession,
  InjectConversationSession,
  SessionMemoryService,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { TransportApp, eventually, startTransportApp } from './support/transport-app';

/**
 * Fastify (`@nestjs/platform-fastify`) over a real socket: every conversation id source through both
 * `@Conversation()` and `@InjectConversationSession()`, ownership (401 / 403), and the docs' `@Sse()`
 * change stream (docs/managing-conversations.md) with its access check.
 */

@Controller()
class DecoratedController {
  @Post(['decorated/:cid', 'decorated'])
  async add(@Conversation() session: ConversationSession, @Body() body: { text: string }) {
    await session.addItems([{ role: 'user', content: body.text }]);
    return { conversationId: session.conversationId };
  }

  @Get(['decorated/:cid', 'decorated'])
  async items(@Conversation() session: ConversationSession) {
    return { conversationId: session.conversationId, items: await session.getItems() };
  }
}

@Controller()
class ScopedController {
  constructor(@InjectConversationSession() private readonly session: ConversationSession) {}

  @Post(['scoped/:cid', 'scoped'])
  async add(@Body() body: { text: string }) {
    await this.session.addItems([{ role: 'user', content: body.text }]);
    return { conversationId: this.session.conversationId };
  }

  @Get(['scoped/:cid', 'scoped'])
  async items() {
    return { conversationId: this.session.conversationId, items: await this.session.getItems() };
  }
}

/** The docs' change stream, authorised first (docs/managing-conversations.md, "Live changes"). */
@Controller('conversations')
class ConversationEventsController {
  constructor(private readonly memory: SessionMemoryService) {}

  @Sse(':id/events')
  async events(
    @Param('id') id: string,
    @Req() req: { headers: Record<string, string> },
  ): Promise<Observable<MessageEvent>> {
    await this.memory.assertAccess(id, req.headers['x-caller']); // 403 before the stream starts
    return this.memory.changes$(id).pipe(map((change) => ({ data: change })));
  }
}

type Source = {
  name: string;
  source: ConversationIdSource | undefined;
  send: (id: string) => { path: string; headers: Record<string, string> };
};

const SOURCES: Source[] = [
  { name: 'default header', source: undefined, send: (id) => ({ path: '', headers: { 'x-conversation-id': id } }) },
  { name: 'header', source: { header: 'X-Conv' }, send: (id) => ({ path: '', headers: { 'x-conv': id } }) },
  {
    name: 'route param',
    source: { param: 'cid' },
    send: (id) => ({ path: `/${encodeURIComponent(id)}`, headers: {} }),
  },
  { name: 'query', source: { query: 'c' }, send: (id) => ({ path: `?c=${encodeURIComponent(id)}`, headers: {} }) },
  {
    name: 'resolver',
    source: async (req: any, message: unknown, transport?: { type: string }) => {
      await new Promise((resolve) => setImmediate(resolve));
      // Fastify's own request object: its parsed query, its headers, and the transport type
      if (transport?.type !== 'http' || message !== undefined) return undefined;
      return req.query.tenant && req.headers['x-conv'] ? `${req.query.tenant}/${req.headers['x-conv']}` : undefined;
    },
    send: (id) => ({ path: `?tenant=${id.split('/')[0]}`, headers: { 'x-conv': id.split('/')[1] } }),
  },
];

async function call(
  app: TransportApp,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  const res = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describeEachDialect(
  'Fastify',
  (dialect, url) => {
    describe.each(SOURCES)('conversation id from $name', ({ source, send }) => {
      let app: TransportApp;
      beforeAll(async () => {
        app = await startTransportApp({
          dialect,
          url,
          platform: 'fastify',
          memory: { conversationId: source },
          controllers: [DecoratedController, ScopedController],
        });
      });
      afterAll(() => app?.close());

      it.each(['decorated', 'scoped'])('%s: writes and reads the conversation the request names', async (route) => {
        const id = `fy-${route}/Conv é ${Math.random().toString(36).slice(2, 8)}`;
        const idOfSource = source === undefined || 'header' in (source as object) ? id.replace('é', 'e') : id;
        const req = send(idOfSource);
        expect(await call(app, 'POST', `/${route}${req.path}`, req.headers, { text: 'hello' })).toEqual({
          status: 201,
          body: { conversationId: idOfSource },
        });
        const read = await call(app, 'GET', `/${route}${req.path}`, req.headers);
        expect(read.body.items).toEqual([{ role: 'user', content: 'hello' }]);
        // the same items through the service: the request named this conversation and no other
        expect(await app.memory.session(idOfSource).getItems()).toEqual([{ role: 'user', content: 'hello' }]);
      });

      it.each(['decorated', 'scoped'])(
        '%s: a request naming no conversation is a 400 saying what to set',
        async (route) => {
          const res = await call(app, 'GET', `/${route}`, {});
          expect(res.status).toBe(400);
          expect(res.body.message).toMatch(
            /^Missing conversation id: set (header|route parameter|query parameter|the conversation id resolver)/,
          );
        },
      );
    });

    describe('refusals Fastify reads as Express does', () => {
      let app: TransportApp;
      beforeAll(async () => {
        app = await startTransportApp({ dialect, url, platform: 'fastify', controllers: [DecoratedController] });
      });
      afterAll(() => app?.close());

      it('a conversation id header sent twice is a 400 (raw headers of the Fastify request)', async () => {
        const { request } = await import('http');
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(`${app.baseUrl}/decorated`, { method: 'GET' }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.setHeader('x-conversation-id', ['one', 'two']);
          req.end();
        });
        expect(status).toBe(400);
      });

      it('a header that is not printable ASCII is a 400', async () => {
        const { request } = await import('http');
        const body = await new Promise<string>((resolve, reject) => {
          const req = request(
            `${app.baseUrl}/decorated`,
            { method: 'GET', headers: { 'x-conversation-id': Buffer.from('caf\xe9', 'latin1').toString('latin1') } },
            (res) => {
              let text = '';
              res.on('data', (chunk) => (text += chunk));
              res.on('end', () => resolve(`${res.statusCode} ${text}`));
            },
          );
          req.on('error', reject);
          req.end();
        });
        expect(body).toMatch(/^400 .*printable ASCII/);
      });
    });

    describe('ownership', () => {
      let app: TransportApp;
      beforeAll(async () => {
        app = await startTransportApp({
          dialect,
          url,
          platform: 'fastify',
          memory: { owner: (req: any) => req.headers['x-caller'] },
          controllers: [DecoratedController, ScopedController, ConversationEventsController],
        });
      });
      afterAll(() => app?.close());

      it.each(['decorated', 'scoped'])(
        '%s: another caller gets 403, no caller 401, the owner its items',
        async (route) => {
          const id = `fy-own-${route}-${Math.random().toString(36).slice(2, 8)}`;
          const as = (caller?: string) => ({ 'x-conversation-id': id, ...(caller ? { 'x-caller': caller } : {}) });
          expect((await call(app, 'POST', `/${route}`, as('ada'), { text: 'mine' })).status).toBe(201);
          const other = await call(app, 'GET', `/${route}`, as('bob'));
          expect(other.status).toBe(403);
          expect(other.body).toEqual({
            statusCode: 403,
            error: 'Forbidden',
            message: expect.stringContaining('belongs to another caller'),
          });
          expect((await call(app, 'POST', `/${route}`, as('bob'), { text: 'theirs' })).status).toBe(403);
          expect((await call(app, 'GET', `/${route}`, as())).status).toBe(401);
          expect((await call(app, 'GET', `/${route}`, as('ada'))).body.items).toEqual([
            { role: 'user', content: 'mine' },
          ]);
        },
      );

      it("the @Sse() change stream: events of the owner's conversation, 403 for another caller before any stream", async () => {
        const id = `fy-sse-${Math.random().toString(36).slice(2, 8)}`;
        await app.memory.session(id, { owner: 'ada' }).addItems([{ role: 'user', content: 'first' }]);

        const refused = await fetch(`${app.baseUrl}/conversations/${id}/events`, { headers: { 'x-caller': 'bob' } });
        expect(refused.status).toBe(403);
        expect(refused.headers.get('content-type')).toMatch(/application\/json/);

        const abort = new AbortController();
        const res = await fetch(`${app.baseUrl}/conversations/${id}/events`, {
          headers: { 'x-caller': 'ada' },
          signal: abort.signal,
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
        let text = '';
        const reader = res.body!.getReader();
        const reading = (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            text += Buffer.from(value).toString('utf8');
          }
        })().catch(() => undefined);
        // Nest subscribes to the handler's Observable before it sends the headers: a write now is seen.
        // Written through the HTTP API (another request, the owner's):
        expect(
          (await call(app, 'POST', '/decorated', { 'x-conversation-id': id, 'x-caller': 'ada' }, { text: 'second' }))
            .status,
        ).toBe(201);
        await eventually(() => text.includes('second'), 'the added event');
        const event = JSON.parse(
          text
            .split('\n')
            .find((line) => line.startsWith('data: '))!
            .slice(6),
        );
        expect(event).toMatchObject({
          type: 'added',
          items: [{ role: 'user', content: 'second' }],
          count: 1,
          origin: 'local',
        });
        abort.abort();
        await reading;
      });
    });
  },
  ['sqlite', 'postgres'],
);
