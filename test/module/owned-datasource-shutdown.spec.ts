import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SessionMemoryModule, SessionMemoryService, SessionStorageUnavailableError } from '../../lib';
import { TEST_URLS, isAvailable } from '../support/databases';
import { dropSessionTablesAt, tempSqliteFile, uniqueTables } from '../support/tables';
import { user } from '../support/items';
import { everyIoCall } from '../support/io-calls';

/** Every I/O entry point of the service and of a session, after close: each must reject with SessionStorageUnavailableError. */
async function expectEverythingRefused(memory: SessionMemoryService): Promise<void> {
  const calls = everyIoCall(memory, memory.session('after-close'), { limit: 2, text: 'late' });
  for (const [name, call] of calls) {
    const outcome = await call().then(
      () => `${name} resolved`,
      (err: unknown) => (err instanceof SessionStorageUnavailableError ? 'refused' : `${name} threw ${String(err)}`),
    );
    expect(outcome).toBe('refused');
  }
}

describe('shutdown of the DataSource the module owns', () => {
  afterEach(() => jest.restoreAllMocks());

  it('module.close() runs the one shutdown hook on the factory-built service, destroys its DataSource, then refuses calls', async () => {
    // One shutdown path: stop, drain and destroy happen in onApplicationShutdown, in that order.
    expect('beforeApplicationShutdown' in SessionMemoryService.prototype).toBe(false);
    const after = jest.spyOn(SessionMemoryService.prototype, 'onApplicationShutdown');
    const module = await Test.createTestingModule({
      imports: [SessionMemoryModule.forRoot({ url: `sqlite:${tempSqliteFile()}` })],
    }).compile();
    await module.init();
    const memory = module.get(SessionMemoryService);
    await memory.session('c').addItems([user('before close')]);
    expect(memory.dataSource.isInitialized).toBe(true);

    await module.close();

    expect(after).toHaveBeenCalledTimes(1);
    expect(after.mock.contexts[0]).toBe(memory);
    expect(memory.dataSource.isInitialized).toBe(false);
    await expectEverythingRefused(memory);
  });

  it('app.close() of a NestFactory application context does the same', async () => {
    const file = tempSqliteFile();
    @Module({ imports: [SessionMemoryModule.forRoot({ url: `sqlite:${file}` })] })
    class AppModule {}

    const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
    const memory = app.get(SessionMemoryService);
    await memory.session('c').addItems([user('x')]);
    const ds = memory.dataSource;
    await app.close();
    expect(ds.isInitialized).toBe(false);
    await expectEverythingRefused(memory);
  });

  it('every named instance closes its own DataSource', async () => {
    const module = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRoot({ name: 'one', url: `sqlite:${tempSqliteFile()}` }),
        SessionMemoryModule.forRootAsync({ name: 'two', useFactory: () => ({ url: `sqlite:${tempSqliteFile()}` }) }),
      ],
    }).compile();
    const one = module.get<SessionMemoryService>('SessionMemoryService:one');
    const two = module.get<SessionMemoryService>('SessionMemoryService:two');
    await module.close();
    expect(one.dataSource.isInitialized).toBe(false);
    expect(two.dataSource.isInitialized).toBe(false);
    await expectEverythingRefused(one);
    await expectEverythingRefused(two);
  });

  (isAvailable('postgres') ? it : it.skip)(
    'on PostgreSQL: close() ends the owned pool and later calls are refused, not left pending',
    async () => {
      const tables = uniqueTables('life');
      const module = await Test.createTestingModule({
        imports: [SessionMemoryModule.forRoot({ url: TEST_URLS.postgres, tables, createTables: true })],
      }).compile();
      await module.init();
      const memory = module.get(SessionMemoryService);
      try {
        await memory.session('pg').addItems([user('a'), user('b')]);
        expect(await memory.session('pg').popItem()).toEqual(user('b'));
        const pool = (memory.dataSource.driver as any).master as { ending?: boolean; ended?: boolean };
        await module.close();
        expect(memory.dataSource.isInitialized).toBe(false);
        expect(pool.ending || pool.ended).toBe(true);
        await expectEverythingRefused(memory);
      } finally {
        await dropSessionTablesAt(TEST_URLS.postgres, tables);
      }
    },
  );
});
