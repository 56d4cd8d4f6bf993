import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Agent, IncomingMessage, get } from 'http';
import { AddressInfo } from 'net';
import request from 'supertest';
import { SessionMemoryService } from '../../lib';
import { AppModule } from '../../sample/src/app.module';
import { ASSISTANT_MODEL } from '../../sample/src/assistant-model.provider';
import { StreamSlots } from '../../sample/src/streams/stream-slots';
import { LocalModel, describeItems } from '../support/local-model';
import { restoreEnvAfterAll } from '../support/env';
import { SAMPLE_ENV_KEYS } from '../../sample/src/sample.config';

/**
 * The API behind the sample's chat page, over HTTP without a browser (so it runs everywhere): the
 * streamed reply as Server-Sent Events, the caller's conversation list, history pages, the change
 * stream, and a shutdown that does not wait for open streams. The page itself: chat-page.e2e.spec.ts.
 */

restoreEnvAfterAll(SAMPLE_ENV_KEYS);

/** The sample in demo authentication mode (x-caller-id, or ?caller= for an EventSource), with `caps` on open streams. */
async function startSample(
  model = new LocalModel(),
  caps: { perCaller?: number; total?: number } = {},
): Promise<INestApplication> {
  process.env.SESSION_MEMORY_URL = 'sqlite::memory:';
  delete process.env.OPENAI_API_KEY;
  delete process.env.OPENAI_MODEL;
  process.env.SAMPLE_DEMO_AUTH = '1';
  if (caps.perCaller === undefined) delete process.env.SAMPLE_MAX_STREAMS_PER_CALLER;
  else process.env.SAMPLE_MAX_STREAMS_PER_CALLER = String(caps.perCaller);
  if (caps.total === undefined) delete process.env.SAMPLE_MAX_STREAMS;
  else process.env.SAMPLE_MAX_STREAMS = String(caps.total);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(ASSISTANT_MODEL)
    .useValue(model)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

/** The events of a text/event-stream body: `{ event, data }`, data parsed as JSON. */
function parseEvents(body: string): { event: string; data: any }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) };
    });
}

/**
 * Opens the change stream of a conversation; `next()` resolves with each event's data in turn, `body()`
 * with the whole body of a refused (non-200) answer.
 */
function openEvents(app: INestApplication, id: string, caller: string, agent?: Agent) {
  const { port } = app.getHttpServer().address() as AddressInfo;
  const queue: any[] = [];
  const waiting: ((data: any) => void)[] = [];
  let response: IncomingMessage | undefined;
  let text = '';
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    const req = get(
      { host: '127.0.0.1', port, agent, path: `/conversations/${encodeURIComponent(id)}/events?caller=${caller}` },
      (res) => {
        response = res;
        let buffer = '';
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          res.on('data', (chunk: string) => (text += chunk));
          resolve(res);
          return;
        }
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            if (data === '') continue;
            const parsed = JSON.parse(data);
            const waiter = waiting.shift();
            if (waiter) waiter(parsed);
            else queue.push(parsed);
          }
        });
        resolve(res);
      },
    );
    req.on('error', reject);
  });
  return {
    opened,
    next: () =>
      queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise<any>((resolve) => waiting.push(resolve)),
    ended: () => new Promise<void>((resolve) => (response!.complete ? resolve() : response!.on('end', resolve))),
    body: async () => {
      const res = await opened;
      if (!res.complete) await new Promise((resolve) => res.on('end', resolve));
      return JSON.parse(text);
    },
    close: () => response?.destroy(),
  };
}

describe('the chat page API of the sample (no browser)', () => {
  let app: INestApplication;
  let model: LocalModel;
  beforeAll(async () => {
    model = new LocalModel();
    app = await startSample(model);
  });
  afterAll(async () => {
    await app?.close();
  });
  const as = (caller: string) => {
    const agent = request(app.getHttpServer());
    return {
      get: (path: string) => agent.get(path).set('x-caller-id', caller),
      post: (path: string, body: object) => agent.post(path).set('x-caller-id', caller).send(body),
    };
  };

  it('POST /conversations/:id/replies streams the reply word by word as Server-Sent Events, then stores the turn', async () => {
    const res = await as('ada').post('/conversations/talk/replies', { text: 'My name is Ada.\nAnd more.' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = parseEvents(res.text);
    const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text);
    const done = events[events.length - 1];
    expect(done.event).toBe('done');
    expect(deltas.length).toBeGreaterThan(5); // streamed in pieces, not in one
    expect(deltas.join('')).toBe(done.data.reply);
    expect(done.data.reply).toBe(
      'You said "My name is Ada.\nAnd more.". I have seen 1 user message in this conversation; the first was "My name is Ada.\nAnd more.".',
    );
    expect(model.calls.map((c) => c.streamed)).toEqual([true]);
    const session = app.get(SessionMemoryService).session('talk');
    expect(describeItems(await session.getItems())).toEqual([
      'user: My name is Ada.\nAnd more.',
      `assistant: ${done.data.reply}`,
    ]);
    expect(await session.getMetadata()).toEqual({ title: 'My name is Ada.' });

    // The second turn keeps the title of the first.
    const second = parseEvents((await as('ada').post('/conversations/talk/replies', { text: 'Again' })).text);
    expect(second[second.length - 1].data.reply).toContain('I have seen 2 user messages');
    expect(await session.getMetadata()).toEqual({ title: 'My name is Ada.' });
  });

  it('refuses before the stream starts: another caller 403, no text 400 (JSON answers, not event streams)', async () => {
    const denied = await as('bob').post('/conversations/talk/replies', { text: 'let me in' });
    expect(denied.status).toBe(403);
    expect(denied.headers['content-type']).toMatch(/^application\/json/);
    const empty = await as('ada').post('/conversations/talk/replies', {});
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/non-empty text/);
    expect((await as('bob').get('/conversations/talk/history')).status).toBe(403);
    expect((await as('bob').get('/conversations/talk/events')).status).toBe(403);
  });

  it("GET /conversations lists the caller's conversations only, with their titles", async () => {
    await as('bob').post('/conversations/bobs/replies', { text: 'Hello, I am Bob.' });
    const ada = await as('ada').get('/conversations');
    expect(ada.status).toBe(200);
    expect(ada.body.conversations.map((c: { id: string; title: string }) => [c.id, c.title])).toEqual([
      ['talk', 'My name is Ada.'],
    ]);
    expect(ada.body.nextCursor).toBeNull();
    const bob = await as('bob').get('/conversations');
    expect(bob.body.conversations.map((c: { id: string }) => c.id)).toEqual(['bobs']);
    expect((await as('nobody').get('/conversations')).body).toEqual({ conversations: [], nextCursor: null });
    expect((await as('ada').get('/conversations?cursor=forged')).status).toBe(400);
    expect((await as('ada').get('/conversations?cursor=a&cursor=b')).status).toBe(400);
  });

  it('GET /conversations/:id/history pages back from the end: before = the cursor of the page shown last', async () => {
    const session = app.get(SessionMemoryService).session('long', { owner: 'ada' });
    await session.addItems(Array.from({ length: 45 }, (_, i) => ({ role: 'user' as const, content: `m${i + 1}` })));
    let before: string | null = null;
    const page = async (query: string) => {
      const res = await as('ada').get(`/conversations/long/history?${query}`);
      expect(res.status).toBe(200);
      before = res.body.before;
      return { texts: describeItems(res.body.items).map((l) => l.slice('user: '.length)), hasOlder: res.body.hasOlder };
    };
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);
    expect(await page('')).toEqual({ texts: range(26, 45), hasOlder: true });
    await session.addItems([{ role: 'user', content: 'added while paging' }]); // does not shift the pages
    expect(await page(`before=${before}`)).toEqual({ texts: range(6, 25), hasOlder: true });
    expect(await page(`before=${before}`)).toEqual({ texts: range(1, 5), hasOlder: false });
    expect(before).toBeNull();
    expect(await page('limit=3')).toEqual({ texts: ['m44', 'm45', 'added while paging'], hasOlder: true });
    for (const bad of ['limit=0', 'limit=101', 'before=-1', 'before=x', 'before=1&before=2']) {
      expect((await as('ada').get(`/conversations/long/history?${bad}`)).status).toBe(400);
    }
  });

  it('GET /conversations/:id/events: ready first, then each change; the caller may be a query parameter', async () => {
    const events = openEvents(app, 'talk', 'ada');
    const res = await events.opened;
    expect(res.statusCode).toBe(200);
    try {
      expect(await events.next()).toEqual({ type: 'ready' });
      await as('ada').post('/conversations/talk/replies', { text: 'Third' });
      const added = [await events.next()];
      while (added.flatMap((c) => c.items).length < 2) added.push(await events.next());
      expect(added.every((c) => c.type === 'added')).toBe(true);
      expect(describeItems(added.flatMap((c) => c.items))).toEqual([
        'user: Third',
        'assistant: You said "Third". I have seen 3 user messages in this conversation; the first was "My name is Ada.\nAnd more.".',
      ]);
      await app.get(SessionMemoryService).session('talk').popItem();
      expect(await events.next()).toEqual({ type: 'popped' });
    } finally {
      events.close();
    }
  });

  it('a stream opened on a conversation nobody owned yet ends once another caller claims it', async () => {
    const events = openEvents(app, 'unclaimed', 'eve');
    await events.opened;
    try {
      expect(await events.next()).toEqual({ type: 'ready' });
      await as('ada').post('/conversations/unclaimed/replies', { text: 'mine' });
      expect(await events.next()).toEqual({ type: 'denied' });
      await events.ended();
      // The stream ended on its own: its slot is free again (the test times out otherwise).
      while (app.get(StreamSlots).inUse('eve') !== 0) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      events.close();
    }
  });
});

describe('the sample app closes while a page keeps its change stream open', () => {
  it('app.close() ends the open streams and their kept-alive connections, and resolves', async () => {
    const app = await startSample();
    const agent = new Agent({ keepAlive: true });
    try {
      const events = openEvents(app, 'open', 'ada', agent);
      await events.opened;
      expect(await events.next()).toEqual({ type: 'ready' });
      await app.close(); // waited forever before ChatController ended the streams at beforeApplicationShutdown
      await events.ended();
    } finally {
      agent.destroy();
    }
  });
});

describe('the sample caps open event streams per caller and in total (429 past the cap)', () => {
  let app: INestApplication;
  const streams: ReturnType<typeof openEvents>[] = [];
  beforeAll(async () => {
    app = await startSample(new LocalModel(), { perCaller: 2, total: 3 });
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await app?.close();
  });

  /** Opens a change stream and waits for its status (and, when accepted, its `ready` event). */
  async function open(id: string, caller: string) {
    const events = openEvents(app, id, caller);
    streams.push(events);
    const res = await events.opened;
    if (res.statusCode === 200) expect(await events.next()).toEqual({ type: 'ready' });
    return { events, status: res.statusCode };
  }

  /** Waits until the server counts `n` open streams in total (a closed connection is noticed asynchronously). */
  async function untilOpen(n: number): Promise<void> {
    while (app.get(StreamSlots).inUse() !== n) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  it('a caller gets at most perCaller streams, change streams and streamed replies together', async () => {
    const first = await open('ada-1', 'ada');
    const second = await open('ada-2', 'ada');
    expect([first.status, second.status]).toEqual([200, 200]);

    // Before the cap, every stream was accepted (2,000 of 2,000 for one caller; 18,000 in the issue).
    const third = await open('ada-3', 'ada');
    expect(third.status).toBe(429);
    expect((await third.events.body()).message).toMatch(/^At most 2 open event streams per caller/);
    const reply = await request(app.getHttpServer())
      .post('/conversations/ada-1/replies')
      .set('x-caller-id', 'ada')
      .send({ text: 'hello' });
    expect(reply.status).toBe(429);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.body.message).toMatch(/^At most 2 open event streams per caller/);
    expect(app.get(StreamSlots).inUse('ada')).toBe(2);

    // A stream that ends frees its slot: the client going away, here.
    first.events.close();
    await untilOpen(1);
    const again = await open('ada-3', 'ada');
    expect(again.status).toBe(200);
  });

  it('all callers together get at most total streams; a finished reply frees its slot', async () => {
    await untilOpen(2); // ada's two
    const bob = await open('bob-1', 'bob');
    expect(bob.status).toBe(200);
    const carol = await open('carol-1', 'carol');
    expect(carol.status).toBe(429);
    expect((await carol.events.body()).message).toMatch(/^At most 3 open event streams in total/);

    bob.events.close();
    await untilOpen(2);
    // A streamed reply holds a slot while it runs, and gives it back when it is done.
    const reply = await request(app.getHttpServer())
      .post('/conversations/carol-1/replies')
      .set('x-caller-id', 'carol')
      .send({ text: 'hello' });
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/event: done/);
    await untilOpen(2);
    expect((await open('carol-1', 'carol')).status).toBe(200);
    expect(app.get(StreamSlots).inUse()).toBe(3);
  });
});
