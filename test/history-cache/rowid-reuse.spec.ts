import Database from 'better-sqlite3';
import { SessionItem } from '../../lib';
import type { HistoryCache } from '../../lib/history/history-cache';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import { user } from '../support/items';
import { TestMemory, startMemory } from '../support/memory';
import { tempSqliteFile } from '../support/tables';

/**
 * An SQLite messages table made without AUTOINCREMENT (by hand, in Python's layout) gives a new row
 * the largest rowid plus one: after the newest row is deleted, the next insert takes its id again. A
 * cached history whose newest row was replaced that way has the same count and id sum; only the row's
 * tag (the CRC-32 of its text) shows it, and the cached read must show the new item.
 */
describe('history cache: an SQLite rowid reused after a pop (table without AUTOINCREMENT)', () => {
  const file = tempSqliteFile('no-autoincrement.db');
  const tables = { sessions: 'agent_sessions', messages: 'agent_messages' };
  let cached: TestMemory;
  let plain: TestMemory;
  let db: Database.Database;

  beforeAll(async () => {
    db = new Database(file);
    db.exec(`CREATE TABLE agent_sessions (
      session_id VARCHAR NOT NULL PRIMARY KEY,
      created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
      updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`);
    db.exec(`CREATE TABLE agent_messages (
      id INTEGER NOT NULL PRIMARY KEY,
      session_id VARCHAR NOT NULL REFERENCES agent_sessions (session_id) ON DELETE CASCADE,
      message_data TEXT NOT NULL,
      created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`);
    db.exec('CREATE INDEX idx_agent_messages_session_time ON agent_messages (session_id, created_at)');
    const url = `sqlite:${file}`;
    cached = await startMemory(url, { createTables: false, historyCache: true }, tables);
    plain = await startMemory(url, { createTables: false }, tables);
  });
  afterAll(async () => {
    await cached?.close();
    await plain?.close();
    db?.close();
  });

  it('shows the item now stored under the reused id', async () => {
    const id = 'hc-rowid-reuse';
    const cache = (cached.memory as unknown as { context: SessionMemoryContext }).context.historyCache as HistoryCache;
    const python = {
      pop: () =>
        db
          .prepare('DELETE FROM agent_messages WHERE id = (SELECT MAX(id) FROM agent_messages WHERE session_id = ?)')
          .run(id),
      add: (item: SessionItem) =>
        db.prepare('INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)').run(id, JSON.stringify(item)),
      newest: () => (db.prepare('SELECT MAX(id) AS id FROM agent_messages').get() as { id: number }).id,
    };
    await plain.memory.session(id).addItems([user('one'), user('two'), user('three')]);
    expect(await cached.memory.session(id).getItems()).toEqual([user('one'), user('two'), user('three')]);
    for (const [round, text] of ['four', 'five', 'six'].entries()) {
      const newest = python.newest();
      python.pop();
      python.add(user(`${text} ${round}`)); // same rowid, another text
      expect(python.newest()).toBe(newest);
      const misses = cache.misses;
      const expected = await plain.memory.session(id).getItems();
      expect(expected[2]).toEqual(user(`${text} ${round}`));
      expect(await cached.memory.session(id).getItems()).toEqual(expected);
      expect(cache.misses).toBe(misses + 1);
    }
  });
});
