import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'fs';
import type { IncomingMessage } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import { AppModule } from '../../sample/src/app.module';
import { SessionMemoryService } from '../../lib';
import { ASSISTANT_MODEL } from '../../sample/src/assistant-model.provider';
import { Caller } from '../../sample/src/auth/caller';
import { CallerAuthenticator } from '../../sample/src/auth/caller-authenticator';
import { LocalModel, LocalModelCall, describeItems } from '../support/local-model';
import { restoreEnvAfterAll } from '../support/env';

/**
 * The sample application over HTTP, with the real Agents SDK runner and the offline local model, on an
 * SQLite file: what the model receives, conversations kept apart, history surviving a restart, and the
 * two ways of reaching the request's conversation under concurrency.
 */

const ENV_KEYS = ['SESSION_MEMORY_URL', 'OPENAI_API_KEY', 'OPENAI_MODEL', 'PORT', 'SAMPLE_DEMO_AUTH'] as const;
restoreEnvAfterAll(ENV_KEYS);

/**
 * Starts the sample's AppModule on `databaseUrl`, with `model` as the assistant's model when given, in
 * demo authentication mode (`SAMPLE_DEMO_AUTH=1`: the x-caller-id header names the caller) unless `env`
 * says otherwise (an undefined value unsets the variable), and with `authenticator` instead of the
 * sample's when given.
 */
async function startSample(
  databaseUrl: string,
  model?: LocalModel,
  env: Record<string, string | undefined> = {},
  authenticator?: CallerAuthenticator,
): Promise<INestApplication> {
  process.env.SESSION_MEMORY_URL = databaseUrl;
  delete process.env.OPENAI_API_KEY;
  delete process.env.OPENAI_MODEL;
  process.env.SAMPLE_DEMO_AUTH = '1';
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  let builder = Test.createTestingModule({ imports: [AppModule] });
  if (model) builder = builder.overrideProvider(ASSISTANT_MODEL).useValue(model);
  if (authenticator) builder = builder.overrideProvider(CallerAuthenticator).useValue(authenticator);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

function freshSqliteUrl(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'nsm-sample-')), 'conversations.db')}`;
}

/** The one recorded call whose newest user message is `text`. */
function callFor(model: LocalModel, text: string): LocalModelCall {
  const matching = model.calls.filter((call) => {
    const lines = describeItems(call.input).filter((l) => l.startsWith('user: '));
    return lines[lines.length - 1] === `user: ${text}`;
  });
  expect(matching).toHaveLength(1);
  return matching[0];
}

/** Requests as `caller` (demo mode: the x-caller-id header). */
function as(app: INestApplication, caller = 'ada') {
  return request.agent(app.getHttpServer()).set('x-caller-id', caller);
}

function say(app: INestApplication, conversationId: string, text: string, caller = 'ada') {
  return as(app, caller)
    .post(`/conversations/${encodeURIComponent(conversationId)}/messages`)
    .send({ text });
}

describe('sample app: conversations with the Agents SDK runner on SQLite', () => {
  const url = freshSqliteUrl();
  let app: INestApplication;
  let model: LocalModel;
  let firstReply: string;
  let secondReply: string;

  beforeAll(async () => {
    model = new LocalModel();
    app = await startSample(url, model);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('the second turn sends the first turn to the model, and the reply is stored', async () => {
    const first = await say(app, 'Ada', 'My name is Ada.');
    expect(first.status).toBe(200);
    expect(first.body.conversationId).toBe('Ada');
    firstReply = first.body.reply;
    expect(describeItems(callFor(model, 'My name is Ada.').input)).toEqual(['user: My name is Ada.']);

    const second = await say(app, 'Ada', 'What is my name?');
    expect(second.status).toBe(200);
    secondReply = second.body.reply;
    expect(describeItems(callFor(model, 'What is my name?').input)).toEqual([
      'user: My name is Ada.',
      `assistant: ${firstReply}`,
      'user: What is my name?',
    ]);
    expect(model.calls.every((call) => call.instructions?.startsWith('You are a concise assistant'))).toBe(true);

    const items = await as(app).get('/conversations/Ada/items');
    expect(items.status).toBe(200);
    expect(describeItems(items.body.items)).toEqual([
      'user: My name is Ada.',
      `assistant: ${firstReply}`,
      'user: What is my name?',
      `assistant: ${secondReply}`,
    ]);
  });

  it('a second conversation starts empty and stays separate (ids are case-sensitive)', async () => {
    const res = await say(app, 'ada', 'Hello from the other one.');
    expect(res.status).toBe(200);
    expect(describeItems(callFor(model, 'Hello from the other one.').input)).toEqual([
      'user: Hello from the other one.',
    ]);

    const other = await as(app).get('/conversations/ada/items');
    expect(describeItems(other.body.items)).toEqual([
      'user: Hello from the other one.',
      `assistant: ${res.body.reply}`,
    ]);
    const ada = await as(app).get('/conversations/Ada/items');
    expect(ada.body.items).toHaveLength(4);
  });

  it('GET items?limit=N returns the newest N, oldest first; a bad limit answers 400', async () => {
    const res = await as(app).get('/conversations/Ada/items?limit=2');
    expect(res.status).toBe(200);
    expect(describeItems(res.body.items)).toEqual(['user: What is my name?', `assistant: ${secondReply}`]);

    const zero = await as(app).get('/conversations/Ada/items?limit=0');
    expect(zero.body.items).toEqual([]);

    const negative = await as(app).get('/conversations/Ada/items?limit=-1');
    expect(negative.status).toBe(400);
    expect(negative.body.code).toBe('SESSION_MEMORY_INVALID_LIMIT');
    const text = await as(app).get('/conversations/Ada/items?limit=abc');
    expect(text.status).toBe(400);
  });

  it('the app restarted on the same SQLite file still has the history and sends it to the model', async () => {
    await app.close();
    model = new LocalModel();
    app = await startSample(url, model);

    const res = await say(app, 'Ada', 'Do you still remember me?');
    expect(res.status).toBe(200);
    expect(describeItems(callFor(model, 'Do you still remember me?').input)).toEqual([
      'user: My name is Ada.',
      `assistant: ${firstReply}`,
      'user: What is my name?',
      `assistant: ${secondReply}`,
      'user: Do you still remember me?',
    ]);
    expect(res.body.reply).toContain('I have seen 3 user messages');
  });

  it('DELETE items/last pops the newest item; DELETE the conversation removes it', async () => {
    const before = await as(app).get('/conversations/Ada/items');
    const newest = before.body.items[before.body.items.length - 1];

    const popped = await as(app).delete('/conversations/Ada/items/last');
    expect(popped.status).toBe(200);
    expect(popped.body).toEqual({ conversationId: 'Ada', removed: newest });
    const after = await as(app).get('/conversations/Ada/items');
    expect(after.body.items).toEqual(before.body.items.slice(0, -1));

    const deleted = await as(app).delete('/conversations/Ada');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ conversationId: 'Ada', deleted: true });
    expect((await as(app).get('/conversations/Ada/items')).body.items).toEqual([]);
    expect((await as(app).delete('/conversations/Ada')).body).toEqual({
      conversationId: 'Ada',
      deleted: false,
    });

    const empty = await as(app).delete('/conversations/Ada/items/last');
    expect(empty.status).toBe(404);
    expect(empty.body.message).toBe('Conversation "Ada" has no items to remove.');
    // The other conversation was not touched.
    expect((await as(app).get('/conversations/ada/items')).body.items).toHaveLength(2);
  });

  it('bad input answers 400: no text, and an id longer than 255 characters on both kinds of route', async () => {
    const noText = await as(app).post('/conversations/x/messages').send({});
    expect(noText.status).toBe(400);
    expect(noText.body.message).toMatch(/non-empty text/);

    const longId = 'x'.repeat(256);
    const viaDecorator = await say(app, longId, 'hi');
    const viaRequestScope = await as(app).get(`/conversations/${longId}/items`);
    expect([viaDecorator.status, viaRequestScope.status]).toEqual([400, 400]);
    expect(viaDecorator.body.message).toMatch(/^Invalid conversation id in route parameter :id: .*at most 255/);
    expect(viaRequestScope.body.message).toMatch(/^Invalid conversation id in route parameter :id: .*at most 255/);
  });

  describe('50 concurrent requests for different conversations', () => {
    const N = 50;
    const ids = Array.from({ length: N }, (_, i) => `concurrent-${i}`);
    const replies = new Map<string, string>();

    it('through @Conversation() (POST messages): each run reads and writes only its own conversation', async () => {
      const responses = await Promise.all(ids.map((id) => say(app, id, `message for ${id}`)));
      responses.forEach((res, i) => {
        expect(res.status).toBe(200);
        expect(res.body.conversationId).toBe(ids[i]);
        expect(res.body.reply).toBe(
          `You said "message for ${ids[i]}". I have seen 1 user message in this conversation; the first was "message for ${ids[i]}".`,
        );
        replies.set(ids[i], res.body.reply);
      });
      for (const id of ids) {
        expect(describeItems(callFor(model, `message for ${id}`).input)).toEqual([`user: message for ${id}`]);
      }
    });

    it('through the request-scoped provider (GET items, DELETE items/last): each request sees only its own conversation', async () => {
      const reads = await Promise.all(ids.map((id) => as(app).get(`/conversations/${id}/items`)));
      reads.forEach((res, i) => {
        expect(res.status).toBe(200);
        expect(res.body.conversationId).toBe(ids[i]);
        expect(describeItems(res.body.items)).toEqual([
          `user: message for ${ids[i]}`,
          `assistant: ${replies.get(ids[i])}`,
        ]);
      });

      const pops = await Promise.all(ids.map((id) => as(app).delete(`/conversations/${id}/items/last`)));
      pops.forEach((res, i) => {
        expect(res.status).toBe(200);
        expect(res.body.conversationId).toBe(ids[i]);
        expect(describeItems([res.body.removed])).toEqual([`assistant: ${replies.get(ids[i])}`]);
      });
      const after = await Promise.all(ids.map((id) => as(app).get(`/conversations/${id}/items`)));
      after.forEach((res, i) => expect(describeItems(res.body.items)).toEqual([`user: message for ${ids[i]}`]));
    });
  });
});

describe('sample app: conversations belong to their caller (x-caller-id, a demo)', () => {
  it('another caller can neither read, write, trim nor delete a conversation; its owner can', async () => {
    const app = await startSample('sqlite::memory:');
    try {
      const server = app.getHttpServer();
      const post = (who: string, text: string) =>
        request(server).post('/conversations/owned/messages').set('x-caller-id', who).send({ text });
      expect((await post('ada', 'my notes')).status).toBe(200);
      expect((await post('bob', 'let me in')).status).toBe(403);
      expect((await request(server).get('/conversations/owned/items').set('x-caller-id', 'bob')).status).toBe(403);
      expect((await request(server).delete('/conversations/owned/items/last').set('x-caller-id', 'bob')).status).toBe(
        403,
      );
      expect((await request(server).delete('/conversations/owned').set('x-caller-id', 'bob')).status).toBe(403);
      // Without the header there is no caller: 401 (it was the shared caller "anonymous" before).
      expect((await request(server).get('/conversations/owned/items')).status).toBe(401);
      const mine = await request(server).get('/conversations/owned/items').set('x-caller-id', 'ada');
      expect(mine.status).toBe(200);
      expect(mine.body.items).toHaveLength(2);
      expect((await request(server).delete('/conversations/owned').set('x-caller-id', 'ada')).body.deleted).toBe(true);
    } finally {
      await app.close();
    }
  });
});

/** Every API route of the sample (the page's files are public), with a body where it takes one. */
const API_ROUTES: { method: 'get' | 'post' | 'delete'; path: string; body?: object }[] = [
  { method: 'get', path: '/conversations' },
  { method: 'post', path: '/conversations/shared/messages', body: { text: 'hi' } },
  { method: 'post', path: '/conversations/shared/replies', body: { text: 'hi' } },
  { method: 'get', path: '/conversations/shared/items' },
  { method: 'get', path: '/conversations/shared/history' },
  { method: 'get', path: '/conversations/shared/events' },
  { method: 'delete', path: '/conversations/shared/items/last' },
  { method: 'delete', path: '/conversations/shared' },
];

/** Sends `route` with `headers`; resolves with the answer's status and message (an event stream is cut off at once). */
async function call(
  app: INestApplication,
  route: (typeof API_ROUTES)[number],
  headers: Record<string, string> = {},
): Promise<{ status: number; message: string }> {
  let req = request(app.getHttpServer())[route.method](route.path);
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
  if (route.body) req = req.send(route.body);
  // An accepted event stream never ends by itself: keep only its status.
  req.buffer(false).parse((res, done) => {
    if (res.statusCode === 200 && /event-stream/.test(String(res.headers['content-type']))) {
      (res as unknown as IncomingMessage).destroy();
      done(null, {});
      return;
    }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => done(null, text === '' ? {} : JSON.parse(text)));
  });
  const res = await req;
  return { status: res.status, message: String(res.body?.message ?? '') };
}

/** A bearer-token authenticator, as an application would plug its own (here: a fixed token table). */
class BearerTokenAuthenticator extends CallerAuthenticator {
  readonly missingCallerMessage = 'Sign in: send Authorization: Bearer <token>.';

  constructor(private readonly tokens: Map<string, string>) {
    super();
  }

  authenticate(request: { headers: Record<string, string | string[] | undefined> }): Caller | undefined {
    const match = /^Bearer (\S+)$/.exec(String(request.headers.authorization ?? ''));
    const id = match ? this.tokens.get(match[1]) : undefined;
    return id === undefined ? undefined : { id };
  }
}

describe('sample app: who is calling (CallerGuard and a CallerAuthenticator)', () => {
  it('demo mode: a request without a caller gets 401 on every API route, never a shared "anonymous"', async () => {
    const app = await startSample('sqlite::memory:');
    try {
      // Before: every one of these was served as the caller "anonymous", shared by all such clients.
      const answers = [];
      for (const route of API_ROUTES)
        answers.push({ route: `${route.method} ${route.path}`, ...(await call(app, route)) });
      expect(answers.filter((a) => a.status !== 401)).toEqual([]);
      for (const a of answers) expect(a.message).toMatch(/x-caller-id/);
      // An empty or over-long id is no caller either.
      expect((await call(app, API_ROUTES[0], { 'x-caller-id': '' })).status).toBe(401);
      expect((await call(app, API_ROUTES[0], { 'x-caller-id': 'x'.repeat(256) })).status).toBe(401);
      // Nothing was stored for anyone.
      expect((await app.get(SessionMemoryService).listSessions()).sessions).toEqual([]);
      // The page itself needs no caller (it makes one up and sends it).
      for (const file of ['/', '/app.js', '/style.css'])
        expect((await request(app.getHttpServer()).get(file)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("demo mode: one caller's conversations are invisible to another", async () => {
    const app = await startSample('sqlite::memory:');
    try {
      expect((await say(app, 'ada-notes', 'my notes', 'ada')).status).toBe(200);
      const listOf = async (caller: string) =>
        (await as(app, caller).get('/conversations')).body.conversations.map((c: { id: string }) => c.id);
      expect(await listOf('ada')).toEqual(['ada-notes']);
      expect(await listOf('bob')).toEqual([]);
      for (const route of API_ROUTES.filter((r) => r.path !== '/conversations')) {
        const path = route.path.replace('/shared', '/ada-notes');
        const answer = await call(app, { ...route, path }, { 'x-caller-id': 'bob' });
        expect({ route: `${route.method} ${path}`, status: answer.status }).toEqual({
          route: `${route.method} ${path}`,
          status: 403,
        });
      }
      expect((await as(app, 'ada').get('/conversations/ada-notes/items')).body.items).toHaveLength(2);
    } finally {
      await app.close();
    }
  });

  it('without demo mode the header proves nothing: 401 saying how to plug real authentication', async () => {
    for (const value of [undefined, '0']) {
      const app = await startSample('sqlite::memory:', undefined, { SAMPLE_DEMO_AUTH: value });
      try {
        for (const route of API_ROUTES) {
          const answer = await call(app, route, { 'x-caller-id': 'bob' });
          expect({ route: route.path, status: answer.status }).toEqual({ route: route.path, status: 401 });
          expect(answer.message).toMatch(/CallerAuthenticator/);
          expect(answer.message).toMatch(/SAMPLE_DEMO_AUTH=1/);
        }
        expect((await request(app.getHttpServer()).get('/')).status).toBe(200);
      } finally {
        await app.close();
      }
    }
  });

  it('an application plugs its own authentication: a CallerAuthenticator provider (bearer tokens here)', async () => {
    const tokens = new Map([
      ['t-ada', 'ada'],
      ['t-bob', 'bob'],
    ]);
    const app = await startSample(
      'sqlite::memory:',
      undefined,
      { SAMPLE_DEMO_AUTH: undefined },
      new BearerTokenAuthenticator(tokens),
    );
    try {
      const server = app.getHttpServer();
      const bearer = (token: string) => request.agent(server).set('authorization', `Bearer ${token}`);
      // @Conversation() (a singleton controller) and the request-scoped session (built before guards run) both see the caller.
      expect((await bearer('t-ada').post('/conversations/plan/messages').send({ text: 'the plan' })).status).toBe(200);
      const items = await bearer('t-ada').get('/conversations/plan/items');
      expect(items.status).toBe(200);
      expect(items.body.items).toHaveLength(2);
      expect((await bearer('t-ada').get('/conversations')).body.conversations.map((c: { id: string }) => c.id)).toEqual(
        ['plan'],
      );
      expect((await bearer('t-bob').get('/conversations/plan/items')).status).toBe(403);
      expect((await bearer('t-bob').get('/conversations')).body.conversations).toEqual([]);
      // The demo header means nothing to it; no token is a 401 with the authenticator's message.
      const claimed = await request(server).get('/conversations/plan/items').set('x-caller-id', 'ada');
      expect(claimed.status).toBe(401);
      expect(claimed.body.message).toBe('Sign in: send Authorization: Bearer <token>.');
      expect((await bearer('forged').get('/conversations')).status).toBe(401);
      expect(await app.get(SessionMemoryService).session('plan').getItems()).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});

describe('sample app: model wiring from the environment', () => {
  it('without OPENAI_API_KEY the assistant runs on the local model, offline', async () => {
    const app = await startSample('sqlite::memory:');
    try {
      const model = app.get(ASSISTANT_MODEL);
      expect(model).toBeInstanceOf(LocalModel);
      const res = await say(app, 'offline', 'ping');
      expect(res.status).toBe(200);
      expect(res.body.reply).toBe(
        'You said "ping". I have seen 1 user message in this conversation; the first was "ping".',
      );
      expect(describeItems((model as LocalModel).calls[0].input)).toEqual(['user: ping']);
    } finally {
      await app.close();
    }
  });

  it('with OPENAI_API_KEY the assistant is given the OpenAI model named by OPENAI_MODEL (no request is made here)', async () => {
    const app = await startSample('sqlite::memory:', undefined, {
      OPENAI_API_KEY: 'sk-test-not-used',
      OPENAI_MODEL: 'gpt-4.1-mini',
    });
    try {
      expect(app.get(ASSISTANT_MODEL)).toBe('gpt-4.1-mini');
    } finally {
      await app.close();
    }
  });
});
