import { ConversationAccessDeniedError } from '../../lib';
import { describeEachDialect, uniqueSuffix } from '../support/databases';
import { startMemory, TestMemory } from '../support/memory';
import { createBinCollationLayoutOnMysql } from '../support/python-fixture';
import { dropSessionTables, ignoreDropError } from '../support/tables';

/**
 * Issue #20 item 10: owners compare byte for byte. On tables Python created on MariaDB (`session_id`
 * VARCHAR(190) utf8mb4_bin, a PAD SPACE collation), our owners table takes that collation, under
 * which 'bob' = 'bob '. Before: `listSessions({ owner: 'bob ' })` listed Bob's conversations.
 */
describeEachDialect(
  'Owners compare byte for byte (MariaDB tables created the way Python creates them)',
  (_dialect, url) => {
    const sfx = uniqueSuffix();
    const tables = { sessions: `t_pads_${sfx}`, messages: `t_padm_${sfx}` };
    let admin: TestMemory;
    let m: TestMemory;
    beforeAll(async () => {
      admin = await startMemory(url); // a connection to create Python's tables with
      await createBinCollationLayoutOnMysql((sql) => admin.sql(sql), tables);
      m = await startMemory(url, { createTables: true }, tables);
    });
    afterAll(async () => {
      await m?.close();
      if (admin) await dropSessionTables(admin.memory.dataSource, tables, ignoreDropError);
      await admin?.close();
    });

    it('the owners table has the PAD SPACE collation of Python’s session_id (the premise)', async () => {
      const [row] = await admin.sql(
        'SELECT COLLATION_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?',
        [`${tables.sessions}_owners`, 'owner'],
      );
      expect(row.c).toBe('utf8mb4_bin');
      expect((await admin.sql("SELECT 'bob' = 'bob ' COLLATE utf8mb4_bin AS same"))[0].same).toBe(1);
    });

    it("listSessions({ owner: 'bob ' }) lists none of Bob's conversations, and 'bob' none of 'bob '’s", async () => {
      await m.memory.session(`pad-a-${sfx}`, { owner: 'bob' }).addItems([{ role: 'user', content: 'bob' }]);
      await m.memory.session(`pad-b-${sfx}`, { owner: 'bob ' }).addItems([{ role: 'user', content: 'bob space' }]);
      const listed = async (owner: string) =>
        (await m.memory.listSessions({ owner })).sessions.map((s) => s.conversationId).sort();
      expect({
        bob: await listed('bob'),
        'bob ': await listed('bob '),
        'bob   ': await listed('bob   '),
      }).toEqual({ bob: [`pad-a-${sfx}`], 'bob ': [`pad-b-${sfx}`], 'bob   ': [] });
    });

    it("reads, metadata, pages and summaries of Bob's conversation refuse 'bob ' and 'bob   '", async () => {
      const id = `pad-c-${sfx}`;
      await m.memory.session(id, { owner: 'bob' }).addItems([{ role: 'user', content: 'BOB PRIVATE' }], {
        metadata: { t: 'BOB PRIVATE' },
      });
      for (const owner of ['bob ', 'bob   ']) {
        const s = m.memory.session(id, { owner });
        for (const read of [
          () => s.getItems(),
          () => s.getItems(3),
          () => s.getItemsPage({ limit: 3 }),
          () => s.getMetadata(),
          () => m.memory.getSession(id, { owner }),
          () => s.addItems([{ role: 'user', content: 'x' }]),
          () => m.memory.deleteSession(id, { owner }),
        ]) {
          await expect(read()).rejects.toBeInstanceOf(ConversationAccessDeniedError);
        }
      }
      expect(await m.memory.session(id, { owner: 'bob' }).getItems()).toHaveLength(1);
    });
  },
  ['mariadb'],
);
