import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  INestApplication,
  Injectable,
  Module,
  Post,
  Scope,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  Conversation,
  ConversationIdSource,
  ConversationSession,
  InjectConversationSession,
  InjectSessionMemory,
  SessionMemoryModule,
  SessionMemoryService,
} from '../../lib';
import { urlFor } from '../support/memory';

/**
 * The conversation id read over real HTTP (Express), by the request-scoped provider
 * (`@InjectConversationSession()`) and by the parameter decorator (`@Conversation()`), from every source.
 */

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

async function startApp(conversationId: ConversationIdSource | undefined): Promise<INestApplication> {
  @Module({
    imports: [SessionMemoryModule.forRoot({ url: urlFor('sqlite', ''), conversationId })],
    controllers: [ScopedController, DecoratedController],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** A resolver that reads `x-tenant` and `x-conv` asynchronously and refuses tenant `intruder` with 403. */
const tenantResolver: ConversationIdSource = async (req: any) => {
  await new Promise((resolve) => setImmediate(resolve));
  if (req.headers['x-tenant'] === 'intruder')
    throw new ForbiddenException('This conversation belongs to another tenant.');
  const conv = req.headers['x-conv'];
  return conv === undefined ? undefined : `${req.headers['x-tenant']}/${conv}`;
};

interface SourceCase {
  title: string;
  source: ConversationIdSource | undefined;
  /** Path suffix and headers that carry conversation `id`. */
  carry(id: string): { path: string; headers: Record<string, string> };
  /** The conversation id the session must have for `id`. */
  expected(id: string): string;
  /** Whether the source can carry non-Latin-1 text (HTTP header values cannot). */
  unicode?: boolean;
}

const cases: SourceCase[] = [
  {
    title: 'default header x-conversation-id',
    source: undefined,
    carry: (id) => ({ path: '', headers: { 'X-Conversation-Id': id } }),
    expected: (id) => id,
  },
  {
    title: 'custom header',
    source: { header: 'X-Chat' },
    carry: (id) => ({ path: '', headers: { 'x-chat': id } }),
    expected: (id) => id,
  },
  {
    title: 'route param',
    source: { param: 'cid' },
    carry: (id) => ({ path: `/${encodeURIComponent(id)}`, headers: {} }),
    expected: (id) => id,
    unicode: true,
  },
  {
    title: 'query parameter',
    source: { query: 'conversation' },
    carry: (id) => ({ path: `?conversation=${encodeURIComponent(id)}`, headers: {} }),
    expected: (id) => id,
    unicode: true,
  },
  {
    title: 'sync resolver',
    source: (req: any) => (req.headers['x-user'] ? `user-${req.headers['x-user']}` : undefined),
    carry: (id) => ({ path: '', headers: { 'x-user': id } }),
    expected: (id) => `user-${id}`,
  },
  {
    title: 'async resolver',
    source: tenantResolver,
    carry: (id) => ({ path: '', headers: { 'x-tenant': 'acme', 'x-conv': id } }),
    expected: (id) => `acme/${id}`,
  },
];

describe.each(cases)('conversation id from $title', ({ source, carry, expected, unicode }) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await startApp(source);
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(['scoped', 'decorated'])(
    '%s: each request reaches the conversation it names, written and read back',
    async (route) => {
      const ids = [`${route}-Conv-1`, `${route}-conv-1`, unicode ? `${route}-é 中文/x` : `${route}-a.b_c:d`];
      for (const id of ids) {
        const { path, headers } = carry(id);
        const res = await request(app.getHttpServer())
          .post(`/${route}${path}`)
          .set(headers)
          .send({ text: `hello ${id}` });
        expect(res.status).toBe(201);
        expect(res.body).toEqual({ conversationId: expected(id) });
      }
      for (const id of ids) {
        const { path, headers } = carry(id);
        const res = await request(app.getHttpServer()).get(`/${route}${path}`).set(headers);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ conversationId: expected(id), items: [{ role: 'user', content: `hello ${id}` }] });
      }
    },
  );

  it.each(['scoped', 'decorated'])(
    '%s: a request without the id answers 400 and says where the id is read',
    async (route) => {
      const res = await request(app.getHttpServer()).get(`/${route}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^Missing conversation id: set /);
    },
  );

  it.each(['scoped', 'decorated'])(
    '%s: an id longer than 255 characters answers 400 with the reason',
    async (route) => {
      const { path, headers } = carry('x'.repeat(300));
      const res = await request(app.getHttpServer()).get(`/${route}${path}`).set(headers);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^Invalid conversation id in .*at most 255/);
    },
  );
});

describe('conversation id edge cases over HTTP', () => {
  it.each(['scoped', 'decorated'])(
    '%s: the async resolver refusing with ForbiddenException answers 403 with its message',
    async (route) => {
      const app = await startApp(tenantResolver);
      try {
        const res = await request(app.getHttpServer()).get(`/${route}`).set({ 'x-tenant': 'intruder', 'x-conv': 'c1' });
        expect(res.status).toBe(403);
        expect(res.body.message).toBe('This conversation belongs to another tenant.');
        const missing = await request(app.getHttpServer()).get(`/${route}`).set({ 'x-tenant': 'acme' });
        expect(missing.status).toBe(400);
        expect(missing.body.message).toBe('Missing conversation id: set the conversation id resolver.');
      } finally {
        await app.close();
      }
    },
  );

  it.each(['scoped', 'decorated'])(
    '%s: a repeated query parameter answers 400 instead of picking one',
    async (route) => {
      const app = await startApp({ query: 'conversation' });
      try {
        const res = await request(app.getHttpServer()).get(`/${route}?conversation=a&conversation=b`);
        expect(res.status).toBe(400);
        expect(res.body.message).toBe('Give exactly one conversation id in query parameter conversation.');
      } finally {
        await app.close();
      }
    },
  );

  it.each(['scoped', 'decorated'])(
    '%s: a route without the configured param answers 400 naming the param',
    async (route) => {
      const app = await startApp({ param: 'cid' });
      try {
        const res = await request(app.getHttpServer()).get(`/${route}`);
        expect(res.status).toBe(400);
        expect(res.body.message).toBe('Missing conversation id: set route parameter :cid.');
      } finally {
        await app.close();
      }
    },
  );

  it('a resolver that throws a plain error answers 500, not 400', async () => {
    const app = await startApp(() => {
      throw new Error('resolver bug');
    });
    try {
      const scoped = await request(app.getHttpServer()).get('/scoped');
      const decorated = await request(app.getHttpServer()).get('/decorated');
      expect([scoped.status, decorated.status]).toEqual([500, 500]);
    } finally {
      await app.close();
    }
  });
});

/** Two named module instances in one application, each with its own store and its own id source. */
describe('named module instances over HTTP', () => {
  @Injectable({ scope: Scope.REQUEST })
  class AlphaHistory {
    constructor(@InjectConversationSession('alpha') readonly session: ConversationSession) {}
  }

  @Controller('named')
  class NamedController {
    constructor(private readonly alpha: AlphaHistory) {}

    @Post(':cid')
    async add(@Conversation('beta') beta: ConversationSession, @Body() body: { text: string }) {
      await this.alpha.session.addItems([{ role: 'user', content: `alpha: ${body.text}` }]);
      await beta.addItems([{ role: 'user', content: `beta: ${body.text}` }]);
      return { alpha: this.alpha.session.conversationId, beta: beta.conversationId };
    }
  }

  @Injectable()
  class Stores {
    constructor(
      @InjectSessionMemory('alpha') readonly alpha: SessionMemoryService,
      @InjectSessionMemory('beta') readonly beta: SessionMemoryService,
    ) {}
  }

  @Module({
    imports: [
      SessionMemoryModule.forRoot({ name: 'alpha', url: urlFor('sqlite', ''), conversationId: { header: 'x-alpha' } }),
      SessionMemoryModule.forRootAsync({
        name: 'beta',
        useFactory: async () => ({ url: urlFor('sqlite', ''), conversationId: { param: 'cid' } }),
      }),
    ],
    controllers: [NamedController],
    providers: [AlphaHistory, Stores],
  })
  class NamedAppModule {}

  let app: INestApplication;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [NamedAppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });

  it('each instance reads its own id source and writes to its own store', async () => {
    const res = await request(app.getHttpServer()).post('/named/b-1').set('x-alpha', 'a-1').send({ text: 'hi' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ alpha: 'a-1', beta: 'b-1' });

    const stores = app.get(Stores);
    expect(stores.alpha).not.toBe(stores.beta);
    expect(await stores.alpha.session('a-1').getItems()).toEqual([{ role: 'user', content: 'alpha: hi' }]);
    expect(await stores.beta.session('b-1').getItems()).toEqual([{ role: 'user', content: 'beta: hi' }]);
    expect(await stores.alpha.session('b-1').getItems()).toEqual([]);
    expect(await stores.beta.session('a-1').getItems()).toEqual([]);
  });

  it('a missing id of the request-scoped instance answers 400 naming its header', async () => {
    const res = await request(app.getHttpServer()).post('/named/b-2').send({ text: 'hi' });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('Missing conversation id: set header x-alpha.');
  });
});
