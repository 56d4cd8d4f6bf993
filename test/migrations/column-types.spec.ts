import { InvalidConversationIdError, MAX_CONVERSATION_ID_LENGTH } from '../../lib';
import { chooseMysqlIdCollation } from '../../lib/storage/mysql/mysql-collation';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';

describe('MySQL/MariaDB session_id collation', () => {
  it.each([
    [['utf8mb4_nopad_bin'], 'utf8mb4_nopad_bin'], // MariaDB >= 10.2
    [['utf8mb4_0900_bin'], 'utf8mb4_0900_bin'], // MySQL >= 8.0
    [['utf8mb4_0900_bin', 'utf8mb4_nopad_bin'], 'utf8mb4_nopad_bin'],
    [[], 'utf8mb4_bin'], // MySQL 5.7: no NO PAD collation at all
  ])('with %p available, uses %s', (available, expected) => {
    expect(chooseMysqlIdCollation(available)).toBe(expected);
  });
});

describeEachDialect('conversation ids at the length limit', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);

  it(`stores ids of ${MAX_CONVERSATION_ID_LENGTH} characters exactly, multi-byte ones included, and refuses longer`, async () => {
    expect(MAX_CONVERSATION_ID_LENGTH).toBe(255);
    const ids = [
      'a'.repeat(255),
      '日'.repeat(255), // 765 UTF-8 bytes
      '😀'.repeat(127) + 'x', // 255 UTF-16 code units, 128 characters, 509 UTF-8 bytes
      'b'.repeat(254) + ' ', // trailing space: distinct from the 254-character id
      'b'.repeat(254),
    ];
    for (const [i, id] of ids.entries()) await m.memory.session(id).addItems([{ role: 'user', content: `#${i}` }]);
    for (const [i, id] of ids.entries())
      expect(await m.memory.session(id).getItems()).toEqual([{ role: 'user', content: `#${i}` }]);
    const stored = await m.sql<{ session_id: string }>(`SELECT session_id FROM ${m.tables.sessions}`);
    expect(stored.map((r) => r.session_id).sort()).toEqual([...ids].sort());
    expect(() => m.memory.session('c'.repeat(256))).toThrow(InvalidConversationIdError);
  });

  if (dialect === 'mariadb') {
    it('declares session_id VARCHAR(255) utf8mb4 with a binary NO PAD collation in both tables', async () => {
      const columns = await m.sql(
        `SELECT TABLE_NAME AS t, COLUMN_TYPE AS type, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'session_id' AND TABLE_NAME IN (?, ?)`,
        [m.tables.sessions, m.tables.messages],
      );
      expect(columns).toHaveLength(2);
      for (const c of columns)
        expect(c).toMatchObject({ type: 'varchar(255)', charset: 'utf8mb4', collation: 'utf8mb4_nopad_bin' });
    });
  }
});
