import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import { AppModule } from '../../sample/src/app.module';
import { ASSISTANT_MODEL } from '../../sample/src/assistant-model.provider';
import { LocalModel, LocalModelCall, describeItems } from '../support/local-model';

/**
 * The sample application over HTTP, with the real Agents SDK runner and the offline local model, on an
 * SQLite file: what the model receives, conversations kept apart, history surviving a restart, and the
 * two ways of reaching the request's conversation under concurrency.
 */

const ENV_KEYS = ['SESSION_MEMORY_URL', 'OPENAI_API_KEY', 'OPENAI_MODEL', 'PORT'] as const;
const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};

beforeAll(() => {
  for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
});
afterAll(() => {
  for (const key of ENV_KEYS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

/** Starts the sample's AppModule on `databaseUrl`, with `model` as the assistant's model when given. */
async function startSample(
  databaseUrl: string,
  model?: LocalModel,
  env: Record<string, string> = {},
): Promise<INestApplication> {
  process.env.SESSION_MEMORY_URL = databaseUrl;
  delete process.env.OPENAI_API_KEY;
  delete process.env.OPENAI_MODEL;
  Object.assign(process.env, env);
  let builder = Test.createTestingModule({ imports: [AppModule] });
  if (model) builder = builder.overrideProvider(ASSISTANT_MODEL).useValue(model);
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

function say(app: INestApplication, conversationId: string, text: string) {
  return request(app.getHttpServer())
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

    const items = await request(app.getHttpServer()).get('/conversations/Ada/items');
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

    const other = await request(app.getHttpServer()).get('/conversations/ada/items');
    expect(describeItems(other.body.items)).toEqual([
      'user: Hello from the other one.',
      `assistant: ${res.body.reply}`,
    ]);
    const ada = await request(app.getHttpServer()).get('/conversations/Ada/items');
    expect(ada.body.items).toHaveLength(4);
  });

  it('GET items?limit=N returns the newest N, oldest first; a bad limit answers 400', async () => {
    const res = await request(app.getHttpServer()).get('/conversations/Ada/items?limit=2');
    expect(res.status).toBe(200);
    expect(describeItems(res.body.items)).toEqual(['user: What is my name?', `assistant: ${secondReply}`]);

    const zero = await request(app.getHttpServer()).get('/conversations/Ada/items?limit=0');
    expect(zero.body.items).toEqual([]);

    const negative = await request(app.getHttpServer()).get('/conversations/Ada/items?limit=-1');
    expect(negative.status).toBe(400);
    expect(negative.body.code).toBe('SESSION_MEMORY_INVALID_LIMIT');
    const text = await request(app.getHttpServer()).get('/conversations/Ada/items?limit=abc');
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
    const before = await request(app.getHttpServer()).get('/conversations/Ada/items');
    const newest = before.body.items[before.body.items.length - 1];

    const popped = await request(app.getHttpServer()).delete('/conversations/Ada/items/last');
    expect(popped.status).toBe(200);
    expect(popped.body).toEqual({ conversationId: 'Ada', removed: newest });
    const after = await request(app.getHttpServer()).get('/conversations/Ada/items');
    expect(after.body.items).toEqual(before.body.items.slice(0, -1));

    const deleted = await request(app.getHttpServer()).delete('/conversations/Ada');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ conversationId: 'Ada', deleted: true });
    expect((await request(app.getHttpServer()).get('/conversations/Ada/items')).body.items).toEqual([]);
    expect((await request(app.getHttpServer()).delete('/conversations/Ada')).body).toEqual({
      conversationId: 'Ada',
      deleted: false,
    });

    const empty = await request(app.getHttpServer()).delete('/conversations/Ada/items/last');
    expect(empty.status).toBe(404);
    expect(empty.body.message).toBe('Conversation "Ada" has no items to remove.');
    // The other conversation was not touched.
    expect((await request(app.getHttpServer()).get('/conversations/ada/items')).body.items).toHaveLength(2);
  });

  it('bad input answers 400: no text, and an id longer than 255 characters on both kinds of route', async () => {
    const noText = await request(app.getHttpServer()).post('/conversations/x/messages').send({});
    expect(noText.status).toBe(400);
    expect(noText.body.message).toMatch(/non-empty text/);

    const longId = 'x'.repeat(256);
    const viaDecorator = await say(app, longId, 'hi');
    const viaRequestScope = await request(app.getHttpServer()).get(`/conversations/${longId}/items`);
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
      const reads = await Promise.all(ids.map((id) => request(app.getHttpServer()).get(`/conversations/${id}/items`)));
      reads.forEach((res, i) => {
        expect(res.status).toBe(200);
        expect(res.body.conversationId).toBe(ids[i]);
        expect(describeItems(res.body.items)).toEqual([
          `user: message for ${ids[i]}`,
          `assistant: ${replies.get(ids[i])}`,
        ]);
      });

      const pops = await Promise.all(
        ids.map((id) => request(app.getHttpServer()).delete(`/conversations/${id}/items/last`)),
      );
      pops.forEach((res, i) => {
        expect(res.status).toBe(200);
        expect(res.body.conversationId).toBe(ids[i]);
        expect(describeItems([res.body.removed])).toEqual([`assistant: ${replies.get(ids[i])}`]);
      });
      const after = await Promise.all(ids.map((id) => request(app.getHttpServer()).get(`/conversations/${id}/items`)));
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
      // Without the header the caller is "anonymous", another caller too.
      expect((await request(server).get('/conversations/owned/items')).status).toBe(403);
      const mine = await request(server).get('/conversations/owned/items').set('x-caller-id', 'ada');
      expect(mine.status).toBe(200);
      expect(mine.body.items).toHaveLength(2);
      expect((await request(server).delete('/conversations/owned').set('x-caller-id', 'ada')).body.deleted).toBe(true);
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
