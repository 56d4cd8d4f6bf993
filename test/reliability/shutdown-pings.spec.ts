import { INestApplication, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import request from 'supertest';
import { SessionMemoryHealthIndicator, SessionMemoryModule } from '../../lib';
import { describeEachDialect, uniqueSuffix } from '../support/databases';
import { FreezableProxy } from '../support/freezable-proxy';
import { healthController } from '../support/health';
import { dropSessionTables } from '../support/tables';

const HealthController = healthController((sessions) => [() => sessions.isHealthy('sessions', { timeoutMs: 200 })]);

/**
 * Health checks during a network partition (a TCP proxy that stops forwarding: no answer, no reset)
 * answer `down` after their `timeoutMs`; the pings they started stay unanswered on their pooled
 * connections until the client-side query timeout (statementMs + connectMs, here two minutes), as
 * they do after a real partition heals while TCP has yet to retransmit what it held. Shutting down
 * then must not wait for those abandoned pings: neither the operation gate's drain nor the pool's
 * end may wait for them.
 */
describeEachDialect(
  'shutdown after health checks that timed out',
  (_dialect, url) => {
    it('app.close() does not wait for the pings the health indicator gave up on', async () => {
      const target = new URL(url);
      const proxy = await FreezableProxy.start(Number(target.port || 5432), target.hostname);
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      const suffix = uniqueSuffix();
      const tables = { sessions: `t_hp_s_${suffix}`, messages: `t_hp_m_${suffix}` };
      @Module({
        imports: [
          TerminusModule.forRoot({ logger: false }),
          SessionMemoryModule.forRoot({
            url: proxied.toString(),
            createTables: true,
            tables,
            timeouts: { statementMs: 120_000, connectMs: 1000 },
          }),
        ],
        controllers: [HealthController],
        providers: [SessionMemoryHealthIndicator],
      })
      class AppModule {}
      const app: INestApplication = (
        await Test.createTestingModule({ imports: [AppModule] }).compile()
      ).createNestApplication({ logger: false });
      await app.init();
      let closing: Promise<string> | undefined;
      try {
        // Up, on a few pooled connections.
        const ups = await Promise.all([1, 2, 3].map(() => request(app.getHttpServer()).get('/health')));
        expect(ups.map((r) => r.status)).toEqual([200, 200, 200]);

        proxy.freeze();
        const downs = await Promise.all([1, 2, 3].map(() => request(app.getHttpServer()).get('/health')));
        expect(downs.map((r) => r.status)).toEqual([503, 503, 503]);
        for (const down of downs) {
          expect(down.body.error.sessions).toMatchObject({ status: 'down', message: expect.stringMatching(/200 ms/) });
        }

        // A hang detector, not a speed assertion: without the fix close() waits for the pings'
        // query timeout (two minutes); with it, it does not wait for them at all.
        closing = app.close().then(() => 'closed');
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          closing,
          new Promise<string>((r) => (timer = setTimeout(() => r('still waiting for the abandoned pings'), 15_000))),
        ]);
        clearTimeout(timer);
        expect(outcome).toBe('closed');
      } finally {
        proxy.thaw();
        await (closing ?? app.close()).catch(() => undefined);
        await proxy.close();
        const c = new Client({ connectionString: url });
        await c.connect();
        await dropSessionTables(c, tables);
        await c.end();
      }
    }, 60_000);
  },
  ['postgres'],
);
