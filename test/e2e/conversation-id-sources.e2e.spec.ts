import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { connect } from 'net';
import { AddressInfo } from 'net';
import request from 'supertest';
import { Conversation, ConversationIdSource, ConversationSession, SessionMemoryModule } from '../../lib';
import { urlFor } from '../support/memory';

/** Conversation ids that cannot be read exactly from a request are refused (400), never guessed at. */

@Controller()
class IdController {
  @Get(['id/:cid', 'id'])
  id(@Conversation() session: ConversationSession) {
    return { conversationId: session.conversationId };
  }
}

async function startApp(conversationId: ConversationIdSource): Promise<INestApplication> {
  @Module({
    imports: [SessionMemoryModule.forRoot({ url: urlFor('sqlite', ''), conversationId })],
    controllers: [IdController],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  await app.listen(0, '127.0.0.1');
  return app;
}

/** Sends a request with exactly these header bytes (Node's client refuses non-ASCII header values). */
function rawRequest(app: INestApplication, lines: Buffer[]): Promise<number> {
  const { port } = app.getHttpServer().address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat([...lines.flatMap((l) => [l, Buffer.from('\r\n')]), Buffer.from('\r\n')]));
    });
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
  });
}

describe('Conversation ids read exactly from requests', () => {
  describe('from a header', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startApp({ header: 'x-conversation-id' });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('reads a plain header', async () => {
      const res = await request(app.getHttpServer()).get('/id').set('x-conversation-id', 'abc').expect(200);
      expect(res.body).toEqual({ conversationId: 'abc' });
    });

    it('refuses the header sent twice (Node would join it into "a, b")', async () => {
      const status = await rawRequest(app, [
        Buffer.from('GET /id HTTP/1.1'),
        Buffer.from('Host: localhost'),
        Buffer.from('X-Conversation-Id: a'),
        Buffer.from('X-Conversation-Id: b'),
        Buffer.from('Connection: close'),
      ]);
      expect(status).toBe(400);
    });

    it('refuses raw UTF-8 bytes in the header (they would be read as Latin-1)', async () => {
      const status = await rawRequest(app, [
        Buffer.from('GET /id HTTP/1.1'),
        Buffer.from('Host: localhost'),
        Buffer.concat([Buffer.from('X-Conversation-Id: '), Buffer.from('café', 'utf8')]),
        Buffer.from('Connection: close'),
      ]);
      expect(status).toBe(400);
    });
  });

  describe('from the query string', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startApp({ query: 'conversation' });
    });
    afterAll(async () => {
      await app?.close();
    });

    it.each(['%FF', '%FE', '%C0'])('refuses %s, which is not UTF-8 (it would decode to U+FFFD)', async (bytes) => {
      await request(app.getHttpServer()).get(`/id?conversation=${bytes}`).expect(400);
    });

    it('keeps a real U+FFFD sent as its UTF-8 bytes, and other UTF-8 ids', async () => {
      const res = await request(app.getHttpServer()).get('/id?conversation=x%EF%BF%BDy').expect(200);
      expect(res.body).toEqual({ conversationId: 'x\uFFFDy' });
      const cafe = await request(app.getHttpServer()).get('/id?conversation=caf%C3%A9').expect(200);
      expect(cafe.body).toEqual({ conversationId: 'café' });
    });

    it('refuses a repeated parameter', async () => {
      await request(app.getHttpServer()).get('/id?conversation=a&conversation=b').expect(400);
    });
  });
});
