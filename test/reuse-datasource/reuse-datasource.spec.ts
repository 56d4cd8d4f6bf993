import { Injectable, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { InjectRepository, TypeOrmModule, TypeOrmModuleOptions, getDataSourceToken } from '@nestjs/typeorm';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, Repository } from 'typeorm';
import {
  SessionMemoryConfigurationError,
  SessionMemoryModule,
  SessionMemoryService,
  createSessionMemoryMigration,
  getSessionMemoryToken,
} from '../../lib';
import { TestDialect, describeEachDialect, uniqueSuffix } from '../support/databases';
import { rawQuery } from '../support/memory';
import { dropSessionTables } from '../support/tables';

/** An entity of "the application", in a table unique to this run. */
const APP_TABLE = `app_note_${uniqueSuffix()}`;

@Entity(APP_TABLE)
class AppNote {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 200 })
  text!: string;
}

/** A provider of the application using its own repository. */
interface NotesService {
  repo: Repository<AppNote>;
}
const NOTES = 'NOTES_SERVICE';

/** TypeORM options of the application, on the dialect under test; `synchronize` creates its entity table. */
function appTypeOrm(dialect: TestDialect, url: string, sqliteFile: string, name?: string): TypeOrmModuleOptions {
  const common = { name, entities: [AppNote], synchronize: true, retryAttempts: 1 };
  switch (dialect) {
    case 'postgres':
    case 'citus':
      return { type: 'postgres', url, ...common };
    case 'mariadb':
      // No charset: the application's default (mysql2 connects in utf8mb4); emoji must still round-trip.
      return { type: 'mariadb', url, ...common };
    case 'sqlite':
      return { type: 'better-sqlite3', database: sqliteFile, ...common };
  }
}

/** The application module: TypeORM with its entity, a feature module using it, and the session memory. */
function appModule(typeOrm: TypeOrmModuleOptions, memory: any): any {
  @Injectable()
  class Notes implements NotesService {
    constructor(@InjectRepository(AppNote, typeOrm.name) readonly repo: Repository<AppNote>) {}
  }
  @Module({
    imports: [TypeOrmModule.forFeature([AppNote], typeOrm.name)],
    providers: [{ provide: NOTES, useClass: Notes }],
    exports: [NOTES],
  })
  class NotesModule {}
  @Module({ imports: [TypeOrmModule.forRoot(typeOrm), NotesModule, memory] })
  class AppModule {}
  return AppModule;
}

const unicode = 'Grüße 👋 — 日本語';

describeEachDialect('Reusing the application TypeORM DataSource', (dialect, url) => {
  let sqliteFile: string;
  let tables: { sessions: string; messages: string };
  const cleanup: (() => Promise<void>)[] = [];

  let created: { sessions: string; messages: string };

  beforeAll(async () => {
    sqliteFile = join(mkdtempSync(join(tmpdir(), 'nsm-reuse-')), 'app.db');
    const s = uniqueSuffix();
    tables = { sessions: `reuse_s_${s}`, messages: `reuse_m_${s}` };
    created = { sessions: `reuse_cs_${s}`, messages: `reuse_cm_${s}` };
    // The tables most cases use, made beforehand as a deployment's migration would.
    const ds = new DataSource({
      ...(appTypeOrm(dialect, url, sqliteFile) as any),
      entities: [],
      synchronize: false,
      migrations: [createSessionMemoryMigration({ tables })],
    });
    await ds.initialize();
    await ds.runMigrations({ transaction: 'none' });
    await ds.query(`DROP TABLE ${ds.options.migrationsTableName ?? 'migrations'}`);
    await ds.destroy();
  });
  afterAll(async () => {
    // Drop what this suite created, through a DataSource of its own.
    const ds = new DataSource({ ...(appTypeOrm(dialect, url, sqliteFile) as any), entities: [], synchronize: false });
    await ds.initialize();
    for (const t of [tables, created]) await dropSessionTables(ds, t);
    await ds.query(`DROP TABLE IF EXISTS ${APP_TABLE}`);
    await ds.destroy();
    for (const c of cleanup) await c();
  });

  /**
   * Expects start-up to fail. A failed compile leaves open the DataSources TypeOrmModule connected or
   * is still connecting (an application would exit): record them while starting, close them after.
   */
  async function expectStartupFailure(typeOrm: TypeOrmModuleOptions, memory: any, message: RegExp): Promise<void> {
    const opened: { ds: DataSource; done: Promise<unknown> }[] = [];
    const initialize = DataSource.prototype.initialize;
    const spy = jest.spyOn(DataSource.prototype, 'initialize').mockImplementation(function (this: DataSource) {
      const done = initialize.call(this);
      opened.push({ ds: this, done: done.catch(() => undefined) });
      return done;
    });
    try {
      const attempt = start(typeOrm, memory);
      await expect(attempt).rejects.toThrow(SessionMemoryConfigurationError);
      await expect(attempt).rejects.toThrow(message);
    } finally {
      spy.mockRestore();
      // Our module may fail before TypeORM has finished connecting: wait for that, then close.
      for (const { ds, done } of opened) {
        await done;
        if (ds.isInitialized) await ds.destroy();
      }
    }
  }

  async function start(typeOrm: TypeOrmModuleOptions, memory: any): Promise<TestingModule> {
    const module = await Test.createTestingModule({ imports: [appModule(typeOrm, memory)] }).compile();
    await module.init();
    return module;
  }

  /** The app's repository and the session memory work on one DataSource, side by side. */
  async function checkSideBySide(
    module: TestingModule,
    appDs: DataSource,
    conversation: string,
    where = tables,
    memory = module.get(SessionMemoryService),
  ) {
    expect(memory.dataSource).toBe(appDs);
    const notes = module.get<NotesService>(NOTES);
    const note = await notes.repo.save(notes.repo.create({ text: `note for ${conversation}` }));
    await memory.session(conversation).addItems([{ role: 'user', content: unicode }]);
    expect(await memory.session(conversation).getItems()).toEqual([{ role: 'user', content: unicode }]);
    expect((await notes.repo.findOneByOrFail({ id: note.id })).text).toBe(`note for ${conversation}`);
    const rows = await rawQuery(appDs, `SELECT message_data FROM ${where.messages} WHERE session_id = ?`, [
      conversation,
    ]);
    expect(rows.map((r: { message_data: string }) => JSON.parse(r.message_data))).toEqual([
      { role: 'user', content: unicode },
    ]);
  }

  it("forRoot({ dataSource: 'default' }) uses the app's default DataSource beside its entities, creates its tables there, never destroys it", async () => {
    const typeOrm = appTypeOrm(dialect, url, sqliteFile);
    const module = await start(
      typeOrm,
      SessionMemoryModule.forRoot({ dataSource: 'default', tables: created, createTables: true }),
    );
    const appDs = module.get(DataSource);
    const destroy = jest.spyOn(appDs, 'destroy');
    await checkSideBySide(module, appDs, 'default-1', created);
    await module.close();
    // Destroyed once: by TypeOrmModule, which owns it (the module's shutdown leaves it alone).
    expect(destroy).toHaveBeenCalledTimes(1);

    // Restart the application (synchronize runs again): our tables and rows are untouched by it.
    const again = await start(typeOrm, SessionMemoryModule.forRoot({ dataSource: 'default', tables: created }));
    expect(await again.get(SessionMemoryService).session('default-1').getItems()).toEqual([
      { role: 'user', content: unicode },
    ]);
    await again.close();
  });

  it("forRoot({ dataSource: '<name>' }) uses the named DataSource, resolved before the module starts", async () => {
    const typeOrm = appTypeOrm(dialect, url, sqliteFile, 'store');
    const module = await start(typeOrm, SessionMemoryModule.forRoot({ dataSource: 'store', tables }));
    await checkSideBySide(module, module.get(getDataSourceToken('store')), 'named-1');
    await module.close();
  });

  it('forRootAsync injecting getDataSourceToken() uses that DataSource', async () => {
    const typeOrm = appTypeOrm(dialect, url, sqliteFile);
    const memory = SessionMemoryModule.forRootAsync({
      inject: [getDataSourceToken()],
      useFactory: (ds: DataSource) => ({ dataSource: ds, tables }),
    });
    const module = await start(typeOrm, memory);
    await checkSideBySide(module, module.get(DataSource), 'async-1');
    await module.close();
  });

  it('forRootAsync naming the DataSource beside the factory gets it injected, connected', async () => {
    const typeOrm = appTypeOrm(dialect, url, sqliteFile, 'store2');
    const memory = SessionMemoryModule.forRootAsync({
      name: 'viaName',
      dataSource: 'store2',
      useFactory: async () => ({ dataSource: 'store2', tables }),
    });
    const module = await start(typeOrm, memory);
    await checkSideBySide(
      module,
      module.get(getDataSourceToken('store2')),
      'async-name-1',
      tables,
      module.get(getSessionMemoryToken('viaName')),
    );
    await module.close();
  });

  it('a DataSource instance passed directly is left open when the application closes', async () => {
    const ds = new DataSource({
      ...(appTypeOrm(dialect, url, sqliteFile) as any),
      synchronize: false,
      name: undefined,
    });
    await ds.initialize();
    cleanup.push(() => ds.destroy());
    const module = await Test.createTestingModule({
      imports: [SessionMemoryModule.forRoot({ dataSource: ds, tables })],
    }).compile();
    await module.init();
    await module
      .get(SessionMemoryService)
      .session('instance-1')
      .addItems([{ role: 'user', content: 'x' }]);
    await module.close();
    expect(ds.isInitialized).toBe(true);
    const [{ n }] = await rawQuery(ds, `SELECT COUNT(*) AS n FROM ${tables.messages} WHERE session_id = ?`, [
      'instance-1',
    ]);
    expect(Number(n)).toBe(1);
  });

  it('fails at startup, naming the fix, when its tables are missing from the reused DataSource', async () => {
    const typeOrm = appTypeOrm(dialect, url, sqliteFile);
    const missing = { sessions: `nope_s_${uniqueSuffix()}`, messages: `nope_m_${uniqueSuffix()}` };
    await expectStartupFailure(
      typeOrm,
      SessionMemoryModule.forRoot({ dataSource: 'default', tables: missing }),
      /createTables: true.*createSessionMemoryMigration/s,
    );
  });

  it('fails at startup, naming the fix, when no DataSource has that name', async () => {
    const typeOrm = appTypeOrm(dialect, url, sqliteFile);
    for (const memory of [
      SessionMemoryModule.forRoot({ dataSource: 'nosuch', tables }),
      SessionMemoryModule.forRootAsync({ useFactory: () => ({ dataSource: 'nosuch', tables }) }),
    ]) {
      await expectStartupFailure(
        typeOrm,
        memory,
        /no TypeORM DataSource named "nosuch".*TypeOrmModule\.forRoot\(\{ name: 'nosuch'/s,
      );
    }
  });
});
