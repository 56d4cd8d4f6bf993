import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { SessionMemoryService } from '../../lib';
import { CountingModel, replyTo, startSample } from './page-harness';

/**
 * The API behind the chat page's edits, versions, turns and search (sample/src/branches.controller.ts,
 * search.controller.ts) over HTTP without a browser: what an edit stores and what the model is sent,
 * the versions each turn lists, bad input refused before anything is written (400, 404), another
 * caller refused (403) and never shown in search, and no caller at all (401).
 */

describe('the chat page API: edits, versions, turns, search', () => {
  let app: INestApplication;
  let restoreEnv: () => void;
  let model: CountingModel;

  const as = (caller: string) => ({ 'x-caller-id': caller });

  /** A streamed reply of the sample (POST :id/replies), read to its end. */
  async function reply(id: string, text: string, caller = 'ada'): Promise<void> {
    const res = await request(app.getHttpServer())
      .post(`/conversations/${id}/replies`)
      .set(as(caller))
      .send({ text })
      .buffer(true)
      .parse((r, done) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (chunk: string) => (body += chunk));
        r.on('end', () => done(null, body));
      });
    expect(res.status).toBe(200);
    expect(res.body).toContain('event: done');
  }

  beforeAll(async () => {
    model = new CountingModel();
    ({ app, restoreEnv } = await startSample(model, 'nsm-structure-api-'));
  });
  afterAll(async () => {
    await app?.close();
    restoreEnv?.();
  });

  it('an edit is a branch from that turn: the next reply is asked with the history before it', async () => {
    await reply('api-1', 'One.');
    await reply('api-1', 'Two.');
    const http = request(app.getHttpServer());

    const edited = await http.post('/conversations/api-1/branches').set(as('ada')).send({ turn: 2 });
    expect(edited.status).toBe(201);
    const { branchId } = edited.body;
    expect(branchId).toMatch(/^branch-\d+$/);
    await reply('api-1', 'Two, edited.');
    // The model was sent turn 1 and the edited text: not the turn it replaces.
    expect(model.calls.at(-1)!.input).toHaveLength(3);

    const turns = await http.get('/conversations/api-1/turns').set(as('ada'));
    expect(turns.status).toBe(200);
    expect(turns.body).toMatchObject({ conversationId: 'api-1', branchId });
    expect(turns.body.turns.map((t: { fullContent: string }) => t.fullContent)).toEqual(['One.', 'Two, edited.']);
    expect(turns.body.turns.map((t: { versions: unknown }) => t.versions)).toEqual([
      null,
      { index: 2, count: 2, branchIds: ['main', branchId] },
    ]);

    const switched = await http.put('/conversations/api-1/branch').set(as('ada')).send({ branchId: 'main' });
    expect(switched.status).toBe(200);
    const items = await app.get(SessionMemoryService).session('api-1').getItems();
    expect(items).toHaveLength(4);
    expect((items[3] as { content: { text: string }[] }).content[0].text).toBe(replyTo('Two.', 2, 'One.'));
    const again = await http.get('/conversations/api-1/turns').set(as('ada'));
    expect(again.body.branchId).toBe('main');
    expect(again.body.turns[1].versions).toEqual({ index: 1, count: 2, branchIds: ['main', branchId] });
  });

  it('bad input is refused before anything is written: 400 for a turn, 404 for a branch', async () => {
    const http = request(app.getHttpServer());
    const before = await app.get(SessionMemoryService).session('api-1').listBranches();
    for (const body of [{}, { turn: 0 }, { turn: 1.5 }, { turn: '1' }]) {
      const res = await http.post('/conversations/api-1/branches').set(as('ada')).send(body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/turn/);
    }
    const missing = await http.post('/conversations/api-1/branches').set(as('ada')).send({ turn: 9 });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/turn 9 does not exist/);
    const unknown = await http.put('/conversations/api-1/branch').set(as('ada')).send({ branchId: 'branch-999' });
    expect(unknown.status).toBe(404);
    expect((await http.put('/conversations/api-1/branch').set(as('ada')).send({})).status).toBe(400);
    expect(await app.get(SessionMemoryService).session('api-1').listBranches()).toEqual(before);
  });

  it("another caller gets 403 on every route of Ada's conversation, and nothing of it in search", async () => {
    const http = request(app.getHttpServer());
    expect((await http.get('/conversations/api-1/turns').set(as('bob'))).status).toBe(403);
    expect((await http.post('/conversations/api-1/branches').set(as('bob')).send({ turn: 1 })).status).toBe(403);
    expect((await http.put('/conversations/api-1/branch').set(as('bob')).send({ branchId: 'main' })).status).toBe(403);
    expect(await app.get(SessionMemoryService).session('api-1').getCurrentBranch()).toBe('main');

    const ada = await http.get('/search').query({ q: 'two' }).set(as('ada'));
    expect(ada.status).toBe(200);
    expect(ada.body.hits.length).toBeGreaterThan(0);
    expect(ada.body.hits.every((h: { conversationId: string }) => h.conversationId === 'api-1')).toBe(true);
    const bob = await http.get('/search').query({ q: 'two' }).set(as('bob'));
    expect(bob.body).toEqual({ query: 'two', hits: [], nextCursor: null });
    expect((await http.get('/search').query({ q: 'two' })).status).toBe(401);
  });

  it('search: hits name their title and highlights; a bad query is a 400 saying why', async () => {
    const http = request(app.getHttpServer());
    const res = await http.get('/search').query({ q: 'one two' }).set(as('ada'));
    expect(res.status).toBe(200);
    // Only the assistant's replies to turn 2 have both words: 'You said "Two.". ... the first was "One.".'
    expect(res.body.hits.map((h: { role: string }) => h.role)).not.toContain('user');
    const hit = res.body.hits.find((h: { branchId: string }) => h.branchId === 'main');
    expect(hit).toMatchObject({ conversationId: 'api-1', title: 'One.', role: 'assistant', branchId: 'main' });
    expect(hit.snippet).toBe(replyTo('Two.', 2, 'One.'));
    expect(hit.highlights.map((h: { start: number; end: number }) => hit.snippet.slice(h.start, h.end))).toEqual([
      'Two',
      'One',
    ]);

    for (const q of [undefined, '', '   ', 'x'.repeat(501)]) {
      const bad = await http
        .get('/search')
        .query(q === undefined ? {} : { q })
        .set(as('ada'));
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/q once/);
    }
    const twice = await http.get('/search?q=a&q=b').set(as('ada'));
    expect(twice.status).toBe(400);
    const cursor = await http.get('/search').query({ q: 'two', cursor: 'forged' }).set(as('ada'));
    expect(cursor.status).toBe(400);
  });
});
