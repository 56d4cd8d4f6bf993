import { INestApplication, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { SessionMemoryHealthIndicator, SessionMemoryModule, SessionMemoryService } from '../../lib';
import { TEST_URLS, isAvailable } from '../support/databases';
import { startMemory, urlFor } from '../support/memory';
import { PgCluster } from '../support/pg-cluster';
import { healthController } from '../support/health';

/** The health indicator for @nestjs/terminus 11 (HealthIndicatorService API), up and down, over HTTP. */
const HealthController = healthController((sessions) => [
  () => sessions.isHealthy('sessions'),
  () => sessions.isHealthy('archive', { instance: 'archive' }),
]);

async function startApp(url: string, archiveUrl: string): Promise<INestApplication> {
  const tables = { sessions: `h_s_${process.pid}`, messages: `h_m_${process.pid}` };
  @Module({
    imports: [
      TerminusModule.forRoot({ logger: false }),
      SessionMemoryModule.forRoot({ url, createTables: true, tables }),
      SessionMemoryModule.forRoot({ name: 'archive', url: archiveUrl, createTables: true, tables }),
    ],
    controllers: [HealthController],
    providers: [SessionMemoryHealthIndicator],
  })
  class AppModule {}
  const module = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = module.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('SessionMemoryHealthIndicator', () => {
  it('reports up for each instance, then down (503, with the reason) for the one whose database is gone', async () => {
    const app = await startApp(urlFor('sqlite', TEST_URLS.sqlite), urlFor('sqlite', TEST_URLS.sqlite));
    try {
      const up = await request(app.getHttpServer()).get('/health');
      expect(up.status).toBe(200);
      expect(up.body.status).toBe('ok');
      expect(up.body.info).toEqual({
        sessions: { status: 'up', dialect: 'sqlite' },
        archive: { status: 'up', dialect: 'sqlite' },
      });

      // The archive's database goes away (here: its connection is closed under it).
      const archive = app.get<SessionMemoryService>('SessionMemoryService:archive');
      await archive.dataSource.destroy();
      const down = await request(app.getHttpServer()).get('/health');
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('error');
      expect(down.body.info).toEqual({ sessions: { status: 'up', dialect: 'sqlite' } });
      expect(down.body.error.archive).toMatchObject({
        status: 'down',
        dialect: 'sqlite',
        code: 'SESSION_MEMORY_STORAGE_UNAVAILABLE',
      });
      expect(down.body.error.archive.message).toMatch(/retry/i);
    } finally {
      await app.close();
    }
  });

  (PgCluster.findBinDir() && isAvailable('sqlite') ? it : it.skip)(
    'on PostgreSQL: down while the server is stopped, up again once it is back, without a restart',
    async () => {
      const cluster = await PgCluster.create();
      const m = await startMemory(cluster.url);
      try {
        const indicator = new SessionMemoryHealthIndicator(m.module.get(ModuleRef));
        expect(await indicator.isHealthy('db')).toEqual({ db: { status: 'up', dialect: 'postgres' } });
        await cluster.stop('fast');
        const down = await indicator.isHealthy('db');
        expect(down.db).toMatchObject({
          status: 'down',
          dialect: 'postgres',
          code: 'SESSION_MEMORY_STORAGE_UNAVAILABLE',
        });
        await cluster.start();
        expect(await indicator.isHealthy('db')).toEqual({ db: { status: 'up', dialect: 'postgres' } });
      } finally {
        await m.close().catch(() => undefined);
        await cluster.destroy();
      }
    },
  );

  it('reports down after timeoutMs when the database does not answer', async () => {
    const m = await startMemory(urlFor('sqlite', TEST_URLS.sqlite));
    try {
      const indicator = new SessionMemoryHealthIndicator(m.module.get(ModuleRef));
      // A ping that never settles stands in for a database that never answers.
      jest.spyOn(m.memory, 'ping').mockReturnValue(new Promise<void>(() => undefined));
      const result = await indicator.isHealthy('slow', { timeoutMs: 50 });
      expect(result.slow).toMatchObject({ status: 'down', message: expect.stringMatching(/50 ms/) });
    } finally {
      jest.restoreAllMocks();
      await m.close();
    }
  });

  it('names the fix when the instance does not exist', async () => {
    const m = await startMemory(urlFor('sqlite', TEST_URLS.sqlite));
    try {
      const indicator = new SessionMemoryHealthIndicator(m.module.get(ModuleRef));
      await expect(indicator.isHealthy('x', { instance: 'nope' })).rejects.toThrow(/named "nope"/);
    } finally {
      await m.close();
    }
  });

  it('@nestjs/terminus is optional: the package loads without it; only the indicator asks for it', () => {
    jest.isolateModules(() => {
      jest.doMock('@nestjs/terminus', () => {
        throw new Error("Cannot find module '@nestjs/terminus'");
      });

      const lib = require('../../lib') as typeof import('../../lib');
      expect(typeof lib.SessionMemoryModule).toBe('function');
      let error: unknown;
      try {
        new lib.SessionMemoryHealthIndicator({} as ModuleRef);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(lib.SessionMemoryConfigurationError);
      expect((error as Error).message).toMatch(/npm install @nestjs\/terminus/);
    });
    jest.dontMock('@nestjs/terminus');
  });
});
