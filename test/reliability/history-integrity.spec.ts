import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { startMemory, TestMemory, urlFor } from '../support/memory';

const msg = (text: string): SessionItem => ({ role: 'user', content: text });
const texts = (items: SessionItem[]) => items.map((i) => (i as { content: string }).content);

describeEachDialect(
  'popItem beside a locked newest row (PostgreSQL)',
  (dialect, baseUrl) => {
    let m: TestMemory;
    beforeAll(async () => {
      m = await startMemory(urlFor(dialect, baseUrl));
    });
    afterAll(async () => {
      await m?.close();
    });

    it('removes the newest item, waiting for the lock, never the one below it', async () => {
      const id = `locked-newest-${Date.now()}`;
      const s = m.memory.session(id);
      await s.addItems([msg('1'), msg('2'), msg('3')]);
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
        expect(await popping).toEqual(msg('3'));
      } finally {
        await other.end();
      }
      expect(texts(await s.getItems())).toEqual(['1', '2']);
    });
  },
  ['postgres'],
);

describeEachDialect('Corrupt rows at the newest end', (dialect, baseUrl) => {
  let m: TestMemory;
  const warnings: string[] = [];
  let warn: jest.SpyInstance;
  beforeAll(async () => {
    m = await startMemory(urlFor(dialect, baseUrl));
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
  });
  afterAll(async () => {
    warn?.mockRestore();
    await m?.close();
  });

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
    await s.addItems([msg('old-1'), msg('old-2')]);
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
    expect(await s.popItem()).toEqual(msg('old-2'));
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
