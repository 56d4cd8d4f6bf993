import {
  SessionMemoryConfigurationError,
  createSessionMemoryMigration,
  createSessionMemorySearchMigration,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { startMemory, urlFor } from '../support/memory';
import { migrationDataSource } from '../support/migrations';
import { dropSessionTables, ignoreDropError, uniqueTables } from '../support/tables';
import { searchTablesOf } from './search-support';

describeEachDialect('createSessionMemorySearchMigration', (dialect, baseUrl) => {
  it('creates the search tables the search option needs without createTables; down drops only them', async () => {
    const url = urlFor(dialect, baseUrl);
    const tables = uniqueTables('srchmig');
    const ds = await migrationDataSource(url, [
      createSessionMemoryMigration({ tables }),
      createSessionMemorySearchMigration({ tables }),
    ]);
    try {
      // Without the search tables, the search option refuses to start and says what to run.
      await ds.runMigrations({ transaction: 'each' });
      await ds.undoLastMigration({ transaction: 'each' });
      await expect(startMemory(url, { search: true, createTables: false }, tables)).rejects.toThrow(
        SessionMemoryConfigurationError,
      );
      await ds.runMigrations({ transaction: 'each' });
      const m = await startMemory(url, { search: true, createTables: false }, tables);
      try {
        await m.memory.session('mig-1').addItems([user('migrationword here')]);
        const page = await m.memory.searchConversations({ query: 'migrationword' });
        expect(page.hits.map((h) => h.snippet)).toEqual(['migrationword here']);
      } finally {
        await m.module.close();
      }
      await ds.undoLastMigration({ transaction: 'each' });
      for (const table of searchTablesOf(tables.messages, dialect))
        // (better-sqlite3's error class comes from the first test file's realm: not `instanceof Error` here)
        expect(
          await ds.query(`SELECT COUNT(*) FROM ${table}`).then(
            () => 'exists',
            () => 'missing',
          ),
        ).toBe('missing');
      expect(await ds.query(`SELECT COUNT(*) AS n FROM ${tables.messages}`)).toHaveLength(1);
    } finally {
      for (const table of searchTablesOf(tables.messages, dialect))
        await ds.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await dropSessionTables(ds, tables, ignoreDropError);
      await ds.query(`DROP TABLE IF EXISTS ${ds.options.migrationsTableName}`).catch(() => undefined);
      await ds.destroy();
    }
  });

  it('refuses bad options when built', () => {
    expect(() => createSessionMemorySearchMigration({ timestamp: 12 })).toThrow(SessionMemoryConfigurationError);
    expect(() => createSessionMemorySearchMigration({ name: 'NoTimestamp' })).toThrow(SessionMemoryConfigurationError);
  });
});
