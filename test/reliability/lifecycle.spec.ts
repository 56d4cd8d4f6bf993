import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { SessionItem, SessionMemoryModule, SessionMemoryService } from '../../lib';
import { dataSourceOptionsFromUrl } from '../../lib/storage/data-source.factory';
import { describeEachDialect, uniqueSuffix } from '../support/databases';
import { rawQuery, startMemory, urlFor } from '../support/memory';
import { user } from '../support/items';
import { settle } from '../support/outcomes';

/**
 * `app.close()` with operations in flight: they all finish (none refused, none left pending), then the
 * DataSource the module owns is destroyed; a reused DataSource is left open and usable.
 */
const IN_FLIGHT = 30;

/** Starts IN_FLIGHT mixed operations without awaiting them; returns their outcomes and what the adds wrote. */
function startOperations(memory: SessionMemoryService, prefix: string) {
  const expected = new Map<string, SessionItem[]>();
  const calls = Array.from({ length: IN_FLIGHT }, (_, i) => {
    const id = `${prefix}-${i % 10}`;
    if (i % 3 === 2) return settle(memory.session(id).getItems());
    const items = [user(`${prefix} ${i} a`), user(`${prefix} ${i} b`)];
    expected.set(id, [...(expected.get(id) ?? []), ...items]);
    return settle(memory.session(id).addItems(items));
  });
  return { outcomes: Promise.all(calls), expected };
}

const sortByContent = (items: SessionItem[]) =>
  [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describeEachDialect('lifecycle with operations in flight', (dialect, baseUrl) => {
  it('close() lets in-flight operations finish, then destroys the DataSource the module owns', async () => {
    const url = urlFor(dialect, baseUrl);
    const m = await startMemory(url);
    const ds = m.memory.dataSource;
    const prefix = `owned-${uniqueSuffix()}`;

    const { outcomes, expected } = startOperations(m.memory, prefix);
    await m.module.close(); // called while all of them are running
    const kinds = (await outcomes).map((o) => o.kind);
    expect(kinds).toEqual(Array(IN_FLIGHT).fill('ok'));
    expect(ds.isInitialized).toBe(false);
    // After close: refused with the typed error, not left pending.
    expect((await settle(m.memory.session(`${prefix}-0`).getItems())).kind).toBe('unavailable');

    // What they wrote is there, seen from a fresh module on the same tables.
    const again = await startMemory(url, {}, m.tables);
    try {
      for (const [id, items] of expected) {
        // concurrent adds to one conversation commit in some order; each batch stays whole and in order
        const got = await again.memory.session(id).getItems();
        expect(sortByContent(got)).toEqual(sortByContent(items));
        const at = (item: SessionItem) => got.findIndex((g) => JSON.stringify(g) === JSON.stringify(item));
        for (let i = 0; i < items.length; i += 2) expect(at(items[i + 1]) - at(items[i])).toBe(1);
      }
    } finally {
      await again.sql(`DROP TABLE IF EXISTS ${m.tables.messages}`).catch(() => undefined);
      await again.sql(`DROP TABLE IF EXISTS ${m.tables.sessions}`).catch(() => undefined);
      await again.close();
    }
  });

  it('close() with a reused DataSource: in-flight operations finish and the DataSource stays open and usable', async () => {
    const url = urlFor(dialect, baseUrl);
    const ds = new DataSource(dataSourceOptionsFromUrl(url));
    await ds.initialize();
    const suffix = uniqueSuffix();
    const tables = { sessions: `r_s_${suffix}`, messages: `r_m_${suffix}` };
    try {
      const module = await Test.createTestingModule({
        imports: [SessionMemoryModule.forRoot({ dataSource: ds, createTables: true, tables })],
      }).compile();
      await module.init();
      const memory = module.get(SessionMemoryService);
      const { outcomes, expected } = startOperations(memory, 'reused');
      await module.close();
      expect((await outcomes).map((o) => o.kind)).toEqual(Array(IN_FLIGHT).fill('ok'));
      expect((await settle(memory.ping())).kind).toBe('unavailable');

      expect(ds.isInitialized).toBe(true);
      const [{ n }] = await rawQuery<{ n: number | string }>(ds, `SELECT COUNT(*) AS n FROM ${tables.messages}`);
      expect(Number(n)).toBe([...expected.values()].reduce((sum, items) => sum + items.length, 0));
    } finally {
      await rawQuery(ds, `DROP TABLE IF EXISTS ${tables.messages}`).catch(() => undefined);
      await rawQuery(ds, `DROP TABLE IF EXISTS ${tables.sessions}`).catch(() => undefined);
      await ds.destroy();
    }
  });
});
