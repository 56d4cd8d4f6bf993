import { Test } from '@nestjs/testing';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { SessionMemoryConfigurationError, SessionMemoryModule, createSessionMemoryMigration } from '../../lib';
import { TEST_URLS, isAvailable, uniqueSuffix } from '../support/databases';
import { rawQuery } from '../support/memory';
import { startupError } from '../support/startup';
import { tempSqliteFile } from '../support/tables';

/**
 * Start-up errors that used to be raw driver errors or misleading ones: each is a
 * SessionMemoryConfigurationError, prefixed like every message of the package, saying what to change.
 */

/** A name of exactly `length` characters, unique to this run. */
const nameOf = (prefix: string, length: number) => `${prefix}_${uniqueSuffix()}_`.padEnd(length, 'x');

/** Drops what a start-up that should have been refused may have created. */
async function dropAll(url: string, names: string[]): Promise<void> {
  const ds = new DataSource(
    url.startsWith('postgres') ? { type: 'postgres', url } : { type: 'mysql', url, charset: 'utf8mb4_unicode_ci' },
  );
  await ds.initialize();
  try {
    for (const name of names) await rawQuery(ds, `DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
  } finally {
    await ds.destroy();
  }
}

const sqlite = () => `sqlite:${tempSqliteFile()}`;

describe('table names that are one table, or whose derived names do not fit', () => {
  it.each([
    ['sessions rt_T / messages rt_t', { sessions: 'rt_T', messages: 'rt_t' }, /equal ignoring case/],
    ['messages = <sessions>_metadata', { sessions: 'conv', messages: 'conv_metadata' }, /<sessions>_metadata/],
    ['sessions = <messages>_operations', { sessions: 'MSG_operations', messages: 'msg' }, /<messages>_operations/],
  ])('SQLite refuses %s (one table there)', async (_what, tables, pattern) => {
    const err = await startupError({ url: sqlite(), tables });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/^nestjs-session-memory: /);
    expect(err.message).toMatch(pattern);
    expect(err.message).toMatch(/tables\.(sessions|messages)/);
  });

  it('SQLite has no identifier limit: 48-character names start', async () => {
    const module = await Test.createTestingModule({
      imports: [
        SessionMemoryModule.forRoot({
          url: sqlite(),
          tables: { sessions: nameOf('s', 48), messages: nameOf('m', 48) },
        }),
      ],
    }).compile();
    await module.close();
  });

  const servers: [string, string, number][] = [
    ['mariadb', TEST_URLS.mariadb, 64],
    ['postgres', TEST_URLS.postgres, 63],
  ];
  for (const [dialect, url, limit] of servers) {
    const longest = limit - 'idx__session_time'.length;
    (isAvailable(dialect as 'mariadb') ? it : it.skip)(
      `[${dialect}] refuses a messages table name whose index name would pass the ${limit}-character limit, saying how short it must be`,
      async () => {
        const tables = { sessions: nameOf('s', 20), messages: nameOf('m', longest + 1) };
        try {
          const err = await startupError({ url, tables, createTables: true });
          expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
          expect(err.message).toMatch(/^nestjs-session-memory: /);
          expect(err.message).toContain('idx_<messages>_session_time');
          expect(err.message).toContain(`${limit}`);
          expect(err.message).toContain(`at most ${longest} characters`);
          expect(err.message).toContain('tables.messages');
        } finally {
          await dropAll(url, [`${tables.messages}_operations`, tables.messages, `${tables.sessions}_metadata`]);
          await dropAll(url, [`${tables.sessions}_owners`, tables.sessions]);
        }
      },
    );
  }

  it('refuses a too-long name before connecting (the server need not exist)', async () => {
    const err = await startupError({
      url: 'mysql://root@127.0.0.1:1/none',
      tables: { messages: nameOf('m', 48) },
    });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toContain('at most 47 characters');
  });
});

describe('the migrations check the table names the same way', () => {
  it('refuses at once, with the dialect given, a name too long for it', () => {
    expect(() => createSessionMemoryMigration({ dialect: 'mysql', tables: { messages: nameOf('m', 48) } })).toThrow(
      /at most 47 characters/,
    );
    expect(() =>
      createSessionMemoryMigration({ dialect: 'sqlite', tables: { messages: nameOf('m', 48) } }),
    ).not.toThrow();
  });

  it('refuses names equal ignoring case with no dialect given', () => {
    expect(() => createSessionMemoryMigration({ tables: { sessions: 'Conv', messages: 'conv' } })).toThrow(
      SessionMemoryConfigurationError,
    );
  });
});

describe('SQLite paths that cannot be a database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-paths-'));
  const textFile = join(dir, 'notes.txt');
  writeFileSync(textFile, 'hello, not a database\n');

  it.each([
    ['a file under a regular file', () => `sqlite:${join(textFile, 'x.db')}`],
    ['a file two directories under a regular file', () => `sqlite:${join(textFile, 'a', 'b', 'x.db')}`],
  ])('%s: says which part of the path is not a directory', async (_what, url) => {
    const err = await startupError({ url: url() });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/^nestjs-session-memory: /);
    expect(err.message).toContain(textFile);
    expect(err.message).toMatch(/not a directory/);
    expect(err.message).not.toMatch(/EEXIST|ENOTDIR/);
  });

  it('a file that is not an SQLite database: says so, not "check that the database is running"', async () => {
    const err = await startupError({ url: `sqlite:${textFile}` });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(/^nestjs-session-memory: /);
    expect(err.message).toContain(textFile);
    expect(err.message).toMatch(/not an SQLite database/);
    expect(err.message).not.toMatch(/database is running/);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt']); // nothing created beside it
  });

  it('a directory: says the path is a directory', async () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    const err = await startupError({ url: `sqlite:${sub}` });
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toContain(sub);
    expect(err.message).toMatch(/is a directory/);
    expect(err.message).not.toMatch(/database is running/);
  });
});
