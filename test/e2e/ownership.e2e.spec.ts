import {
  Body,
  Controller,
  Delete,
  Get,
  INestApplication,
  MessageEvent,
  Module,
  Param,
  Post,
  Req,
  Sse,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { get } from 'http';
import { AddressInfo } from 'net';
import { Observable, map } from 'rxjs';
import request from 'supertest';
import {
  Conversation,
  ConversationAccessDeniedError,
  ConversationSession,
  InjectConversationSession,
  InjectSessionMemory,
  SessionMemoryModule,
  SessionMemoryService,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { urlFor } from '../support/memory';
import { dropSessionTables, ignoreDropError } from '../support/tables';

/** The caller id of a request: a header, as a demo would (real apps take it from their authentication). */
const caller = (req: { headers: Record<string, string | undefined> }) => req.headers['x-caller-id'];

@Controller('c/:cid')
class ChatController {
  constructor(@InjectSessionMemory() private readonly memory: SessionMemoryService) {}

  @Get('items')
  async items(@Conversation() session: ConversationSession) {
    return session.getItems();
  }

  @Post('items')
  async add(@Conversation() session: ConversationSession, @Body() body: { text: string }) {
    await session.addItems([{ role: 'user', content: body.text }]);
    return { ok: true };
  }

  @Post('pop')
  async pop(@Conversation() session: ConversationSession) {
    return { item: (await session.popItem()) ?? null };
  }

  @Delete()
  async remove(@Param('cid') cid: string, @Req() req: { headers: Record<string, string> }) {
    return { deleted: await this.memory.deleteSession(cid, { owner: caller(req) }) };
  }

  @Sse('events')
  async events(
    @Param('cid') cid: string,
    @Req() req: { headers: Record<string, string> },
  ): Promise<Observable<MessageEvent>> {
    await this.memory.assertAccess(cid, caller(req)!);
    return this.memory.changes$(cid).pipe(map((change) => ({ type: change.type, data: change })));
  }
}

@Controller('scoped/:cid')
class ScopedController {
  constructor(@InjectConversationSession() private readonly session: ConversationSession) {}

  @Get('items')
  async items() {
    return this.session.getItems();
  }
}

@Controller('mine')
class ListController {
  constructor(@InjectSessionMemory() private readonly memory: SessionMemoryService) {}

  @Get()
  async mine(@Req() req: { headers: Record<string, string> }) {
    const page = await this.memory.listSessions({ owner: caller(req) });
    return page.sessions.map((s) => s.conversationId);
  }
}

describeEachDialect('Conversations that belong to someone (owner option, over HTTP)', (dialect, baseUrl) => {
  let app: INestApplication;
  let memory: SessionMemoryService;
  const cid = `owned-${Date.now()}`;
  const suffix = `${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    @Module({
      imports: [
        SessionMemoryModule.forRoot({
          url: urlFor(dialect, baseUrl),
          createTables: true,
          tables: { sessions: `own_s_${suffix}`, messages: `own_m_${suffix}` },
          conversationId: { param: 'cid' },
          owner: caller,
        }),
      ],
      controllers: [ChatController, ScopedController, ListController],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    await app.listen(0, '127.0.0.1');
    memory = app.get(SessionMemoryService);
  });
  afterAll(async () => {
    if (memory?.dataSource.isInitialized) {
      await dropSessionTables(
        memory.dataSource,
        { sessions: `own_s_${suffix}`, messages: `own_m_${suffix}` },
        ignoreDropError,
      );
    }
    await app?.close();
  });

  const as = (who: string | undefined) => {
    const agent = request(app.getHttpServer());
    const withCaller = (r: request.Test) => (who === undefined ? r : r.set('x-caller-id', who));
    return {
      get: (path: string) => withCaller(agent.get(path)),
      post: (path: string, body?: object) => withCaller(agent.post(path)).send(body ?? {}),
      delete: (path: string) => withCaller(agent.delete(path)),
    };
  };

  it("refuses another caller's read, write, pop, delete, listing and stream; the owner keeps all of them", async () => {
    await as('alice').post(`/c/${cid}/items`, { text: 'my secret' }).expect(201);
    await as('alice').post(`/c/${cid}/items`, { text: 'more' }).expect(201);

    const denied = [
      await as('bob').get(`/c/${cid}/items`),
      await as('bob').post(`/c/${cid}/items`, { text: 'injected' }),
      await as('bob').post(`/c/${cid}/pop`),
      await as('bob').delete(`/c/${cid}`),
      await as('bob').get(`/scoped/${cid}/items`),
      await as('bob').get(`/c/${cid}/events`),
    ];
    for (const res of denied) {
      expect(res.status).toBe(403);
      expect(JSON.stringify(res.body)).not.toContain('my secret');
    }
    expect((await as('bob').get('/mine').expect(200)).body).toEqual([]);

    // Nothing of Bob's got in, nothing of Alice's went.
    const items = (await as('alice').get(`/c/${cid}/items`).expect(200)).body;
    expect(items.map((i: { content: string }) => i.content)).toEqual(['my secret', 'more']);
    expect((await as('alice').get(`/scoped/${cid}/items`).expect(200)).body).toHaveLength(2);
    expect((await as('alice').get('/mine').expect(200)).body).toEqual([cid]);
    expect((await as('alice').post(`/c/${cid}/pop`).expect(201)).body.item.content).toBe('more');
  });

  it("streams the owner's changes over SSE", async () => {
    const port = (app.getHttpServer().address() as AddressInfo).port;
    const received = new Promise<string>((resolve, reject) => {
      const req = get(
        { host: '127.0.0.1', port, path: `/c/${cid}/events`, headers: { 'x-caller-id': 'alice' } },
        (res) => {
          expect(res.statusCode).toBe(200);
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
            if (text.includes('live')) {
              req.destroy();
              resolve(text);
            }
          });
        },
      );
      req.on('error', (err) => ((err as { code?: string }).code === 'ECONNRESET' ? undefined : reject(err)));
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await as('alice').post(`/c/${cid}/items`, { text: 'live' }).expect(201);
    expect(await received).toMatch(/event: added/);
  });

  it('a request without a caller id gets 401; a new conversation belongs to its first writer', async () => {
    await as(undefined).get(`/c/${cid}/items`).expect(401);
    const fresh = `fresh-${Date.now()}`;
    await as('bob').get(`/c/${fresh}/items`).expect(200); // nobody owns it yet: empty, and readable
    await as('bob').post(`/c/${fresh}/items`, { text: 'mine now' }).expect(201);
    await as('alice').get(`/c/${fresh}/items`).expect(403);
  });

  it('two callers racing to create one conversation: exactly one becomes its owner', async () => {
    const raced = `raced-${Date.now()}`;
    const results = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((who) => as(who).post(`/c/${raced}/items`, { text: who })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 403)).toHaveLength(3);
    expect(await memory.session(raced).getItems()).toHaveLength(1);
  });

  it("a stream opened on a conversation nobody owns yet fails when another caller claims it, without that caller's items", async () => {
    const open = `unclaimed-${Date.now()}`;
    const seen: unknown[] = [];
    const failed = new Promise<unknown>((resolve) =>
      memory.changes$(open, { owner: 'bob' }).subscribe({ next: (c) => seen.push(c), error: resolve }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await memory.session(open, { owner: 'alice' }).addItems([{ role: 'user', content: 'alice only' }]);
    expect(await failed).toBeInstanceOf(ConversationAccessDeniedError);
    expect(JSON.stringify(seen)).not.toContain('alice only');
  });

  it('service calls with { owner } refuse with ConversationAccessDeniedError', async () => {
    await expect(memory.session(cid, { owner: 'bob' }).getItems()).rejects.toBeInstanceOf(
      ConversationAccessDeniedError,
    );
    await expect(memory.getSession(cid, { owner: 'bob' })).rejects.toBeInstanceOf(ConversationAccessDeniedError);
    await expect(memory.deleteSession(cid, { owner: 'bob' })).rejects.toBeInstanceOf(ConversationAccessDeniedError);
    await expect(memory.getSession(cid, { owner: 'alice' })).resolves.toMatchObject({ conversationId: cid });
  });
});
