import { describeEachDialect, uniqueSuffix } from '../support/databases';
import { startMemory } from '../support/memory';

/**
 * Tables created by Python (or a DBA) on MySQL/MariaDB may give session_id another collation than the
 * one this package picks (newer Python releases: VARCHAR(190) utf8mb4_bin). createTables must then
 * build the optional tables to match, or their foreign keys cannot be created and startup fails.
 */
describeEachDialect(
  'optional tables beside a hand-made MySQL layout',
  (_dialect, url) => {
    it('createTables: true on existing VARCHAR(190) utf8mb4_bin tables starts, and metadata and history transactions work', async () => {
      const sfx = uniqueSuffix();
      const tables = { sessions: `t_pys_${sfx}`, messages: `t_pym_${sfx}` };
      const admin = await startMemory(url); // a connection to create the hand-made tables with
      try {
        await admin.sql(
          `CREATE TABLE ${tables.sessions} (session_id VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, ` +
            `created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP) DEFAULT CHARSET=utf8mb4`,
        );
        await admin.sql(
          `CREATE TABLE ${tables.messages} (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, ` +
            `session_id VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, message_data TEXT NOT NULL, ` +
            `created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
            `FOREIGN KEY (session_id) REFERENCES ${tables.sessions} (session_id) ON DELETE CASCADE) DEFAULT CHARSET=utf8mb4`,
        );
        const m = await startMemory(url, { createTables: true }, tables);
        try {
          const s = m.memory.session('py-1');
          await s.addItems([{ role: 'user', content: 'hi' }], { metadata: { userId: 'u1' } });
          await s.applyHistoryTransaction({
            operationId: 'op',
            transaction: { type: 'append_items', items: [{ role: 'user', content: 'again' }] },
          });
          expect(await s.getMetadata()).toEqual({ userId: 'u1' });
          expect(
            (await m.memory.listSessions({ metadata: { userId: 'u1' }, includeItemCount: true })).sessions.map((x) => [
              x.conversationId,
              x.itemCount,
            ]),
          ).toEqual([['py-1', 2]]);
        } finally {
          await m.close();
        }
      } finally {
        for (const t of [
          `${tables.sessions}_metadata`,
          `${tables.messages}_operations`,
          tables.messages,
          tables.sessions,
        ]) {
          await admin.sql(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
        }
        await admin.close();
      }
    });
  },
  ['mariadb'],
);
