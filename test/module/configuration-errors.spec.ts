import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { SessionMemoryConfigurationError, SessionMemoryModule, SessionMemoryModuleAsyncOptions } from '../../lib';
import { TEST_URLS, isAvailable } from '../support/databases';
import { startupError } from '../support/startup';
import { tempSqliteFile, uniqueTables } from '../support/tables';

const sqlite = () => `sqlite:${tempSqliteFile()}`;

describe('bad options are refused at startup with SessionMemoryConfigurationError', () => {
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['tables.messages', { messages: 'x; DROP TABLE y' }],
    ['tables.sessions', { sessions: 'agent_sessions"--' }],
    ['tables.messages', { messages: '' }],
    ['tables.sessions', { sessions: '1sessions' }],
    ['tables.messages', { messages: 'a'.repeat(49) }],
  ])('refuses %s = %j, naming the option and the allowed form', async (option, tables) => {
    const err = await startupError({ url: sqlite(), tables });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toContain(option);
    expect(err.message).toMatch(/plain SQL identifier/);
  });

  it('refuses the same name for both tables', async () => {
    const err = await startupError({ url: sqlite(), tables: { sessions: 'conv', messages: 'conv' } });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/tables\.sessions and tables\.messages name the same table/);
    expect(err.message).toMatch(/different names/);
  });

  it('refuses tables.schema on SQLite, saying it is PostgreSQL only', async () => {
    const err = await startupError({ url: sqlite(), tables: { schema: 'memory' } });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/tables\.schema is only supported on PostgreSQL/);
    expect(err.message).toMatch(/better-sqlite3/);
  });

  (isAvailable('mariadb') ? it : it.skip)('refuses tables.schema on MariaDB/MySQL', async () => {
    const err = await startupError({ url: TEST_URLS.mariadb, tables: { schema: 'memory', ...uniqueTables('sch') } });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/only supported on PostgreSQL/);
  });

  it.each(['redis://user:hunter2@localhost:6379/0', 'mongodb://localhost/db', 'file.db', 'sqlite:'])(
    'refuses url %p and lists the supported forms (without echoing a password)',
    async (url) => {
      const err = await startupError({ url });
      expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
      expect(err.message).toMatch(/sqlite:/);
      expect(err.message).not.toContain('hunter2');
    },
  );

  it('refuses a size limit that is not a positive whole number', async () => {
    const err = await startupError({ url: sqlite(), limits: { maxItemBytes: 0 } });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/limits\.maxItemBytes/);
  });

  it.each([3, -1])('refuses the removed defaultLimit (%p) at startup, naming windowHistory', async (defaultLimit) => {
    const err = await startupError({ url: sqlite(), defaultLimit: defaultLimit as never });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/defaultLimit was removed/);
    expect(err.message).toMatch(/windowHistory/);
  });

  it('refuses tables.schema for a non-PostgreSQL url before connecting (the server need not exist)', async () => {
    const err = await startupError({ url: 'mysql://root@127.0.0.1:1/none', tables: { schema: 'memory' } });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/only supported on PostgreSQL/);
  });

  it('forRootAsync without useFactory, useClass or useExisting throws at once', () => {
    expect(() => SessionMemoryModule.forRootAsync({} as SessionMemoryModuleAsyncOptions)).toThrow(
      SessionMemoryConfigurationError,
    );
    expect(() => SessionMemoryModule.forRootAsync({} as SessionMemoryModuleAsyncOptions)).toThrow(
      /useFactory, useClass or useExisting/,
    );
  });

  it('a factory returning bad options is refused the same way', async () => {
    const err = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRootAsync({
          useFactory: async () => ({ url: sqlite(), tables: { messages: 'x; DROP TABLE y' } }),
        }),
      ],
    })
      .compile()
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err!.message).toContain('tables.messages');
  });
});

describe('createTables: false with missing tables', () => {
  afterEach(() => jest.restoreAllMocks());

  const dialects: [string, () => string, boolean][] = [
    ['sqlite', sqlite, true],
    ['postgres', () => TEST_URLS.postgres, isAvailable('postgres')],
    ['mariadb', () => TEST_URLS.mariadb, isAvailable('mariadb')],
  ];
  for (const [dialect, url, available] of dialects) {
    (available ? it : it.skip)(
      `[${dialect}] is refused with a message naming the fix, and closes the DataSource it opened`,
      async () => {
        const destroy = jest.spyOn(DataSource.prototype, 'destroy');
        const tables = uniqueTables('missing');
        const err = await startupError({ url: url(), tables, createTables: false });
        expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
        expect(err.message).toContain(tables.sessions);
        expect(err.message).toMatch(/createTables: true/);
        expect(err.message).toMatch(/migration/);
        expect(destroy).toHaveBeenCalledTimes(1);
        expect((destroy.mock.contexts[0] as DataSource).isInitialized).toBe(false);
      },
    );
  }
});
