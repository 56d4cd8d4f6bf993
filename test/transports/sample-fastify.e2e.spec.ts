import WebSocket from 'ws';
import { SampleProcess, startSampleProcess } from './support/sample-process';
import { connect, TestSocket } from './support/test-socket';

/**
 * `SAMPLE_PLATFORM=fastify npm run sample`, as a user starts it (its own process, demo authentication,
 * the offline local model, an SQLite file): the page, the JSON API, a streamed reply and the change
 * stream (Server-Sent Events) served by Fastify, the WebSocket chat (ws adapter) on the same port, the
 * callers kept apart, and a clean exit on SIGTERM.
 */

const uid = () => Math.random().toString(36).slice(2, 8);

/** Reads Server-Sent Events from `res` until `until` holds for the events so far (or the stream ends). */
async function readEvents(res: Response, until: (events: { event: string; data: any }[]) => boolean) {
  const events: { event: string; data: any }[] = [];
  const reader = res.body!.getReader();
  let buffer = '';
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += Buffer.from(value).toString('utf8');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) events.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel().catch(() => undefined);
  return events;
}

describe('the sample on Fastify: SAMPLE_PLATFORM=fastify npm run sample', () => {
  let sample: SampleProcess;
  const sockets: TestSocket[] = [];
  const api = (path: string, caller: string | undefined, init: RequestInit = {}) =>
    fetch(`${sample.baseUrl}${path}`, {
      ...init,
      headers: {
        ...(caller ? { 'x-caller-id': caller } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });

  beforeAll(async () => {
    sample = await startSampleProcess({ SAMPLE_PLATFORM: 'fastify' });
  }, 90_000);
  afterAll(async () => {
    sockets.forEach((socket) => socket.close());
    await sample?.stop();
  });

  it('says it runs on Fastify, and serves the pages', async () => {
    expect(sample.output()).toMatch(/Listening on http:\/\/localhost:\d+ \(fastify\)/);
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/app.js', 'text/javascript'],
      ['/style.css', 'text/css'],
      ['/socket.html', 'text/html'],
      ['/socket.js', 'text/javascript'],
    ]) {
      const res = await fetch(`${sample.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  });

  it('streams a reply over Server-Sent Events, remembers it, and pushes it to the change stream', async () => {
    const id = `fastify-${uid()}`;
    const changes = await fetch(`${sample.baseUrl}/conversations/${id}/events?caller=ada`);
    expect(changes.headers.get('content-type')).toContain('text/event-stream');
    const changesRead = readEvents(changes, (events) => events.some((e) => e.data.type === 'added'));

    const first = await api(`/conversations/${id}/replies`, 'ada', {
      method: 'POST',
      body: JSON.stringify({ text: 'My name is Ada.' }),
    });
    expect(first.status).toBe(200);
    const events = await readEvents(first, (e) => e.some((x) => x.event === 'done'));
    const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text);
    expect(deltas.length).toBeGreaterThan(3);
    const done = events.find((e) => e.event === 'done')!;
    expect(deltas.join('')).toBe(done.data.reply);
    expect(done.data.reply).toContain('My name is Ada.');

    const live = await changesRead;
    expect(live[0].data).toEqual({ type: 'ready' });
    expect(live.find((e) => e.data.type === 'added')!.data.items.map((i: any) => i.role)).toEqual([
      'user',
      'assistant',
    ]);

    const history = (await (await api(`/conversations/${id}/history`, 'ada')).json()) as any;
    expect(history).toMatchObject({ conversationId: id, title: 'My name is Ada.', hasOlder: false });
    expect(history.items).toHaveLength(2);
    const list = (await (await api('/conversations', 'ada')).json()) as any;
    expect(list.conversations.map((c: any) => c.id)).toContain(id);
  });

  it('keeps callers apart: 401 without a caller, 403 for another, nothing listed for them', async () => {
    const id = `fastify-own-${uid()}`;
    await readEvents(
      await api(`/conversations/${id}/replies`, 'ada', { method: 'POST', body: JSON.stringify({ text: 'secret' }) }),
      (e) => e.some((x) => x.event === 'done'),
    );
    expect((await api(`/conversations/${id}/history`, undefined)).status).toBe(401);
    const other = await api(`/conversations/${id}/history`, 'bob');
    expect(other.status).toBe(403);
    expect(((await other.json()) as any).message).toContain('belongs to another caller');
    expect((await api(`/conversations/${id}/events?caller=bob`, undefined)).status).toBe(403);
    const list = (await (await api('/conversations', 'bob')).json()) as any;
    expect(list.conversations.map((c: any) => c.id)).not.toContain(id);
  });

  it('the WebSocket chat: a streamed reply to the sender, the stored turn to the other socket, refusals', async () => {
    const id = `fastify-ws-${uid()}`;
    const sender = await connect('ws', sample.baseUrl, '/ws', { query: { caller: 'ada' } });
    const other = await connect('ws', sample.baseUrl, '/ws', { query: { caller: 'ada' } });
    sockets.push(sender, other);
    sender.send('join', { conversationId: id });
    other.send('join', { conversationId: id });
    expect(await sender.next('joined')).toEqual({ conversationId: id, items: [] });
    await other.next('joined');

    sender.send('say', { conversationId: id, text: 'Hello over a socket.' });
    const done = await sender.next('done');
    expect(
      sender
        .all('delta')
        .map((d) => d.text)
        .join(''),
    ).toBe(done.reply);
    const change = await other.next('change');
    expect(change).toMatchObject({ conversationId: id, type: 'added' });
    expect(change.items.map((i: any) => i.role)).toEqual(['user', 'assistant']);
    expect(other.all('delta')).toEqual([]);
    // stored as the HTTP API's turns are: the page lists it with its title
    const history = (await (await api(`/conversations/${id}/history`, 'ada')).json()) as any;
    expect(history.title).toBe('Hello over a socket.');

    const bob = await connect('ws', sample.baseUrl, '/ws', { query: { caller: 'bob' } });
    sockets.push(bob);
    bob.send('say', { conversationId: id, text: 'let me in' });
    expect(await bob.next('error')).toMatchObject({ status: 403, conversationId: id });

    // no caller: told why, and the connection is closed
    const anonymous = new WebSocket(`ws://127.0.0.1:${sample.port}/ws`);
    const closed = await new Promise<{ code: number; messages: string[] }>((resolve) => {
      const messages: string[] = [];
      anonymous.on('message', (raw) => messages.push(raw.toString()));
      anonymous.on('close', (code) => resolve({ code, messages }));
    });
    expect(closed.code).toBe(1008);
    expect(JSON.parse(closed.messages[0])).toMatchObject({ event: 'error', data: { status: 401 } });
  });

  it('closes cleanly on SIGTERM with a change stream and a socket open', async () => {
    const id = `fastify-stop-${uid()}`;
    const changes = await fetch(`${sample.baseUrl}/conversations/${id}/events?caller=ada`);
    const reading = readEvents(changes, () => false).catch(() => []);
    const socket = await connect('ws', sample.baseUrl, '/ws', { query: { caller: 'ada' } });
    sockets.push(socket);
    const started = Date.now();
    // Nest closes the application, then re-raises the signal (enableShutdownHooks): npm reports it.
    expect([0, 'SIGTERM']).toContain(await sample.stop());
    expect(Date.now() - started).toBeLessThan(10_000);
    await reading;
    expect(sample.output()).not.toMatch(/\bERROR\b|Unhandled|EADDRINUSE/);
  });
});
