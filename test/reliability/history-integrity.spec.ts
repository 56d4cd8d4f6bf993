import { Client } from 'pg';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user, texts } from '../support/items';
import { useLoggedWarnings } from '../support/warnings';

describeEachDialect(
  'popItem beside a locked newest row (PostgreSQL)',
  (dialect, baseUrl) => {
    const m = useMemory(dialect, baseUrl);

    it('removes the newest item, waiting for the lock, never the one below it', async () => {
      const id = `locked-newest-${Date.now()}`;
      const s = m.memory.session(id);
      await s.addItems([user('1'), user('2'), user('3')]);
      // Another transaction holds the newest row (as a history transaction or a pop about to roll back does).
      const other = new Client({ connectionString: baseUrl });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query(
          `SELECT id FROM ${m.tables.messages} WHERE session_id = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE`,
          [id],
        );
        const popping = s.popItem();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await other.query('ROLLBACK');
        expect(await popping).toEqual(user('3'));
      } finally {
        await other.end();
      }
      expect(texts(await s.getItems())).toEqual(['1', '2']);
    });
  },
  ['postgres'],
);

describeEachDialect('Corrupt rows at the newest end', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);
  const warnings = useLoggedWarnings();

  /** `count` rows of text that is not a JSON object, written behind the module's back (as a faulty writer would). */
  async function corrupt(id: string, count: number): Promise<void> {
    for (let done = 0; done < count; done += 500) {
      const n = Math.min(500, count - done);
      const values = Array.from({ length: n }, () => '(?, ?)').join(', ');
      const params = Array.from({ length: n }, (_, i) => [id, `not json ${done + i}`]).flat();
      await m.sql(`INSERT INTO ${m.tables.messages} (session_id, message_data) VALUES ${values}`, params);
    }
  }

  it('getItems(n) and popItem skip 5,000 corrupt rows in a few batches and log one warning with the count', async () => {
    const id = `corrupt-${Date.now()}`;
    const s = m.memory.session(id);
    await s.addItems([user('old-1'), user('old-2')]);
    await corrupt(id, 5000);

    warnings.length = 0;
    expect(texts(await s.getItems(1))).toEqual(['old-2']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/5000 corrupt rows/);

    warnings.length = 0;
    expect(texts(await s.getItems())).toEqual(['old-1', 'old-2']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/5000 corrupt rows/);

    warnings.length = 0;
    expect(await s.popItem()).toEqual(user('old-2'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/5000 corrupt rows/);
    // The corrupt rows above the popped item went with it; the older item stays.
    expect(texts(await s.getItems())).toEqual(['old-1']);
    const [{ n }] = await m.sql<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM ${m.tables.messages} WHERE session_id = ?`,
      [id],
    );
    expect(Number(n)).toBe(1);
  });

  it('a popItem on only corrupt rows removes them all and returns undefined', async () => {
    const id = `all-corrupt-${Date.now()}`;
    await m.sql(`INSERT INTO ${m.tables.sessions} (session_id) VALUES (?)`, [id]);
    await corrupt(id, 1200);
    warnings.length = 0;
    expect(await m.memory.session(id).popItem()).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(await m.memory.session(id).getItems()).toEqual([]);
  });
});
