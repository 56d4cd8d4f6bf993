import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import {
  InjectSessionMemory,
  SessionMemoryModule,
  SessionMemoryModuleOptions,
  SessionMemoryOptionsFactory,
  SessionMemoryService,
  getSessionMemoryToken,
} from '../../lib';
import { TEST_URLS, isAvailable } from '../support/databases';
import { countMessages } from '../support/raw-rows';
import { dropSessionTables, ignoreDropError, tempSqliteFile, uniqueTables } from '../support/tables';
import { user } from '../support/items';

const contents = (items: unknown[]) => items.map((i) => (i as { content: string }).content);

/** Adds two items and reads them back: proves the store behind the service really works. */
async function roundTrip(memory: SessionMemoryService, id: string): Promise<string[]> {
  const session = memory.session(id);
  await session.addItems([user('one'), user('two')]);
  return contents(await session.getItems());
}

const itPostgres = isAvailable('postgres') ? it : it.skip;

describe('SessionMemoryModule.forRoot', () => {
  it('provides a working SessionMemoryService on the SQLite file named by url', async () => {
    const file = tempSqliteFile();
    const module = await Test.createTestingModule({
      imports: [SessionMemoryModule.forRoot({ url: `sqlite:${file}`, tables: uniqueTables() })],
    }).compile();
    await module.init();
    try {
      const memory = module.get(SessionMemoryService);
      expect(memory).toBeInstanceOf(SessionMemoryService);
      expect(memory.dialect).toBe('sqlite');
      expect(memory.dataSource.options).toMatchObject({ type: 'better-sqlite3', database: file });
      expect(await roundTrip(memory, 'for-root')).toEqual(['one', 'two']);
    } finally {
      await module.close();
    }
  });
});

describe('SessionMemoryModule.forRootAsync', () => {
  it('useFactory + inject reads url and tables from @nestjs/config ConfigService', async () => {
    const file = tempSqliteFile();
    const tables = uniqueTables('cfg');
    const module = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRootAsync({
          imports: [
            ConfigModule.forRoot({
              ignoreEnvFile: true,
              load: [() => ({ SESSION_MEMORY_URL: `sqlite:${file}`, SESSION_MEMORY_TABLE_PREFIX: tables })],
            }),
          ],
          inject: [ConfigService],
          useFactory: (config: ConfigService): SessionMemoryModuleOptions => ({
            url: config.getOrThrow<string>('SESSION_MEMORY_URL'),
            tables: config.getOrThrow('SESSION_MEMORY_TABLE_PREFIX'),
          }),
        }),
      ],
    }).compile();
    await module.init();
    try {
      const memory = module.get(SessionMemoryService);
      expect(memory.dataSource.options).toMatchObject({ type: 'better-sqlite3', database: file });
      expect(await roundTrip(memory, 'from-config')).toEqual(['one', 'two']);
      expect(await countMessages(memory, tables.messages, 'from-config')).toBe(2);
    } finally {
      await module.close();
    }
  });

  it('useFactory may be async', async () => {
    const file = tempSqliteFile();
    const module = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRootAsync({
          useFactory: async () => {
            await new Promise((resolve) => setImmediate(resolve));
            return { url: `sqlite:${file}` };
          },
        }),
      ],
    }).compile();
    try {
      expect(module.get(SessionMemoryService).dataSource.options).toMatchObject({ database: file });
    } finally {
      await module.close();
    }
  });

  it('useClass instantiates the options factory inside the module, with its own dependencies', async () => {
    const file = tempSqliteFile();
    const tables = uniqueTables('cls');
    const built: SessionMemoryOptionsFactory[] = [];

    @Injectable()
    class MemoryConfig implements SessionMemoryOptionsFactory {
      constructor(private readonly config: ConfigService) {
        built.push(this);
      }
      createSessionMemoryOptions(): SessionMemoryModuleOptions {
        return { url: this.config.getOrThrow<string>('URL'), tables };
      }
    }

    const module = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRootAsync({
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ URL: `sqlite:${file}` })] })],
          useClass: MemoryConfig,
        }),
      ],
    }).compile();
    try {
      expect(built).toHaveLength(1);
      const memory = module.get(SessionMemoryService);
      expect(memory.dataSource.options).toMatchObject({ database: file });
      await memory.session('use-class').addItems([user('x')]);
      expect(await countMessages(memory, tables.messages, 'use-class')).toBe(1);
    } finally {
      await module.close();
    }
  });

  it('useExisting reuses the provider exported by an imported module (no second instance)', async () => {
    const file = tempSqliteFile();
    const tables = uniqueTables('exi');
    let constructed = 0;
    let calls = 0;

    @Injectable()
    class SharedMemoryConfig implements SessionMemoryOptionsFactory {
      constructor() {
        constructed++;
      }
      createSessionMemoryOptions(): SessionMemoryModuleOptions {
        calls++;
        return { url: `sqlite:${file}`, tables };
      }
    }
    @Module({ providers: [SharedMemoryConfig], exports: [SharedMemoryConfig] })
    class SharedConfigModule {}

    const module = await Test.createTestingModule({
      imports: [
        SharedConfigModule,
        SessionMemoryModule.forRootAsync({ imports: [SharedConfigModule], useExisting: SharedMemoryConfig }),
      ],
    }).compile();
    try {
      expect(constructed).toBe(1);
      expect(calls).toBe(1);
      const memory = module.get(SessionMemoryService);
      expect(memory.dataSource.options).toMatchObject({ database: file });
      expect(await roundTrip(memory, 'use-existing')).toEqual(['one', 'two']);
    } finally {
      await module.close();
    }
  });
});

describe('isGlobal', () => {
  @Injectable()
  class FeatureService {
    constructor(readonly memory: SessionMemoryService) {}
  }
  // Does NOT import SessionMemoryModule.
  @Module({ providers: [FeatureService], exports: [FeatureService] })
  class FeatureModule {}

  it.each([
    ['forRoot', () => SessionMemoryModule.forRoot({ url: `sqlite:${tempSqliteFile()}`, isGlobal: true })],
    [
      'forRootAsync',
      () =>
        SessionMemoryModule.forRootAsync({ isGlobal: true, useFactory: () => ({ url: `sqlite:${tempSqliteFile()}` }) }),
    ],
  ])(
    '%s({ isGlobal: true }) lets a feature module that does not import it inject SessionMemoryService',
    async (_, memoryModule) => {
      const module = await Test.createTestingModule({ imports: [memoryModule(), FeatureModule] }).compile();
      try {
        const feature = module.get(FeatureService);
        expect(feature.memory).toBeInstanceOf(SessionMemoryService);
        expect(feature.memory).toBe(module.get(SessionMemoryService));
        expect(await roundTrip(feature.memory, 'global')).toEqual(['one', 'two']);
      } finally {
        await module.close();
      }
    },
  );

  it('without isGlobal the same feature module cannot resolve SessionMemoryService', async () => {
    await expect(
      Test.createTestingModule({
        imports: [SessionMemoryModule.forRoot({ url: `sqlite:${tempSqliteFile()}` }), FeatureModule],
      }).compile(),
    ).rejects.toThrow(/SessionMemoryService/);
  });
});

describe('named instances', () => {
  it('two names on two SQLite databases: @InjectSessionMemory(name) reaches each one', async () => {
    const fileA = tempSqliteFile('a.db');
    const fileB = tempSqliteFile('b.db');
    const tablesA = uniqueTables('na');
    const tablesB = uniqueTables('nb');

    @Injectable()
    class TwoStores {
      constructor(
        @InjectSessionMemory('alpha') readonly alpha: SessionMemoryService,
        @InjectSessionMemory('beta') readonly beta: SessionMemoryService,
      ) {}
    }

    const module = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRoot({ name: 'alpha', url: `sqlite:${fileA}`, tables: tablesA }),
        SessionMemoryModule.forRootAsync({
          name: 'beta',
          useFactory: () => ({ url: `sqlite:${fileB}`, tables: tablesB }),
        }),
      ],
      providers: [TwoStores],
    }).compile();
    try {
      const { alpha, beta } = module.get(TwoStores);
      expect(alpha).not.toBe(beta);
      expect(alpha).toBe(module.get(getSessionMemoryToken('alpha')));
      expect(beta).toBe(module.get(getSessionMemoryToken('beta')));
      expect(alpha.dataSource).not.toBe(beta.dataSource);
      expect(alpha.dataSource.options).toMatchObject({ database: fileA });
      expect(beta.dataSource.options).toMatchObject({ database: fileB });
      // The unnamed instance was never configured.
      expect(() => module.get(SessionMemoryService)).toThrow();

      await alpha.session('same-id').addItems([user('in alpha')]);
      await beta.session('same-id').addItems([user('in beta'), user('in beta 2')]);
      expect(contents(await alpha.session('same-id').getItems())).toEqual(['in alpha']);
      expect(contents(await beta.session('same-id').getItems())).toEqual(['in beta', 'in beta 2']);
      expect(await countMessages(alpha, tablesA.messages, 'same-id')).toBe(1);
      expect(await countMessages(beta, tablesB.messages, 'same-id')).toBe(2);
    } finally {
      await module.close();
    }
  });

  itPostgres('one name on SQLite and one on PostgreSQL, each with its own tables', async () => {
    const file = tempSqliteFile();
    const local = uniqueTables('nl');
    const remote = uniqueTables('np');

    @Injectable()
    class Stores {
      constructor(
        @InjectSessionMemory('local') readonly local: SessionMemoryService,
        @InjectSessionMemory('remote') readonly remote: SessionMemoryService,
      ) {}
    }

    const module = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRoot({ name: 'local', url: `sqlite:${file}`, tables: local }),
        SessionMemoryModule.forRoot({ name: 'remote', url: TEST_URLS.postgres, tables: remote, createTables: true }),
      ],
      providers: [Stores],
    }).compile();
    const stores = module.get(Stores);
    try {
      expect(stores.local.dialect).toBe('sqlite');
      expect(stores.remote.dialect).toBe('postgres');
      await stores.local.session('shared-id').addItems([user('local')]);
      await stores.remote.session('shared-id').addItems([user('remote')]);
      expect(contents(await stores.local.session('shared-id').getItems())).toEqual(['local']);
      expect(contents(await stores.remote.session('shared-id').getItems())).toEqual(['remote']);
      expect(await countMessages(stores.remote, remote.messages, 'shared-id')).toBe(1);
    } finally {
      await dropSessionTables(stores.remote.dataSource, remote, ignoreDropError);
      await module.close();
    }
    expect(stores.local.dataSource.isInitialized).toBe(false);
    expect(stores.remote.dataSource.isInitialized).toBe(false);
  });
});
