import { describeEachDialect, uniqueSuffix } from '../support/databases';
import { startMemory } from '../support/memory';
import { createBinCollationLayoutOnMysql } from '../support/python-fixture';
import { dropSessionTables, ignoreDropError } from '../support/tables';

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
        await createBinCollationLayoutOnMysql((sql) => admin.sql(sql), tables);
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
        await dropSessionTables(admin.memory.dataSource, tables, ignoreDropError);
        await admin.close();
      }
    });
  },
  ['mariadb'],
);
