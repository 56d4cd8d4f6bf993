import { Injectable } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { InjectDataSource, TypeOrmModule, TypeOrmModuleOptions, getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SessionMemoryModule, SessionMemoryService } from '../../lib';
import { TEST_URLS, isAvailable } from '../support/databases';
import { rawQuery } from '../support/memory';
import { dropSessionTables, ignoreDropError, tempSqliteFile, uniqueTables } from '../support/tables';

/** A provider of the application that asks for "the" DataSource, as application code does. */
@Injectable()
class AppRepository {
  constructor(
    readonly byType: DataSource,
    @InjectDataSource() readonly byDecorator: DataSource,
  ) {}
}

interface Case {
  title: string;
  needsPostgres: boolean;
  app: () => TypeOrmModuleOptions;
  memoryUrl: () => string;
  appType: string;
  memoryType: string;
}

const cases: Case[] = [
  {
    title: 'app default on one SQLite file, memory on another',
    needsPostgres: false,
    app: () => ({ type: 'better-sqlite3', database: tempSqliteFile('app.db') }),
    memoryUrl: () => `sqlite:${tempSqliteFile('memory.db')}`,
    appType: 'better-sqlite3',
    memoryType: 'better-sqlite3',
  },
  {
    title: 'app default on PostgreSQL, memory on SQLite',
    needsPostgres: true,
    app: () => ({ type: 'postgres', url: TEST_URLS.postgres }),
    memoryUrl: () => `sqlite:${tempSqliteFile('memory.db')}`,
    appType: 'postgres',
    memoryType: 'better-sqlite3',
  },
  {
    title: 'app default on SQLite, memory on PostgreSQL',
    needsPostgres: true,
    app: () => ({ type: 'better-sqlite3', database: tempSqliteFile('app.db') }),
    memoryUrl: () => TEST_URLS.postgres,
    appType: 'better-sqlite3',
    memoryType: 'postgres',
  },
  {
    title: 'app default and memory both on PostgreSQL (two DataSources, one server)',
    needsPostgres: true,
    app: () => ({ type: 'postgres', url: TEST_URLS.postgres }),
    memoryUrl: () => TEST_URLS.postgres,
    appType: 'postgres',
    memoryType: 'postgres',
  },
];

describe("the module's own DataSource never replaces the application's default one", () => {
  for (const c of cases) {
    const run = !c.needsPostgres || isAvailable('postgres') ? it : it.skip;
    run(c.title, async () => {
      const appOptions = c.app();
      const tables = uniqueTables('appds');
      const module: TestingModule = await Test.createTestingModule({
        imports: [
          // Memory first, so a module that registered its DataSource under the default token would win.
          SessionMemoryModule.forRoot({ url: c.memoryUrl(), tables, createTables: true }),
          TypeOrmModule.forRoot(appOptions),
        ],
        providers: [AppRepository],
      }).compile();
      await module.init();
      const memory = module.get(SessionMemoryService);
      const appDs = module.get<DataSource>(getDataSourceToken());
      try {
        expect(appDs).toBeInstanceOf(DataSource);
        expect(appDs.options.type).toBe(c.appType);
        if (appOptions.type === 'better-sqlite3')
          expect(appDs.options).toMatchObject({ database: appOptions.database });
        expect(memory.dataSource.options.type).toBe(c.memoryType);

        expect(memory.dataSource).not.toBe(appDs);
        expect(memory.dataSource.name).toBe('nestjs-session-memory:default');
        expect(appDs.name).toBe('default');
        expect(module.get(DataSource)).toBe(appDs);
        const repo = module.get(AppRepository);
        expect(repo.byType).toBe(appDs);
        expect(repo.byDecorator).toBe(appDs);

        // The memory tables live behind the memory's DataSource; on separate SQLite files the app's has none.
        await memory.session('c').addItems([{ role: 'user', content: 'hi' }]);
        if (c.appType === 'better-sqlite3') {
          const found = await rawQuery(appDs, `SELECT name FROM sqlite_master WHERE name = ?`, [tables.messages]);
          expect(found).toEqual([]);
        }
      } finally {
        if (memory.dataSource.options.type === 'postgres')
          await dropSessionTables(memory.dataSource, tables, ignoreDropError);
        await module.close();
      }
      // Each DataSource was closed by its own owner.
      expect(memory.dataSource.isInitialized).toBe(false);
      expect(appDs.isInitialized).toBe(false);
    });
  }

  it('closing the memory first leaves the application DataSource usable', async () => {
    const app = await Test.createTestingModule({
      imports: [TypeOrmModule.forRoot({ type: 'better-sqlite3', database: tempSqliteFile('app.db') })],
    }).compile();
    const memoryModule = await Test.createTestingModule({
      imports: [SessionMemoryModule.forRoot({ url: `sqlite:${tempSqliteFile('memory.db')}` })],
    }).compile();
    const appDs = app.get<DataSource>(getDataSourceToken());
    const memory = memoryModule.get(SessionMemoryService);
    try {
      await memoryModule.close();
      expect(memory.dataSource.isInitialized).toBe(false);
      expect(appDs.isInitialized).toBe(true);
      expect(await appDs.query('SELECT 41 + 1 AS answer')).toEqual([{ answer: 42 }]);
    } finally {
      await app.close();
    }
  });
});
