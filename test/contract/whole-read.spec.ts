import { readWholeHistory } from '../../lib/history/history-reader';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import type { MainReads } from '../../lib/storage/line-reads';
import type { StoredColumns } from '../../lib/storage/session-store';
import { describeEachDialect } from '../support/databases';
import { texts, user } from '../support/items';
import { TestMemory, useMemory } from '../support/memory';
import { insertRawRows } from '../support/raw-rows';
import { useLoggedWarnings } from '../support/warnings';

const contextOf = (m: TestMemory) => (m.memory as unknown as { context: SessionMemoryContext }).context;

/**
 * The whole read (`getItems()` with no limit) parses its rows in the synchronous step that read them
 * where the store reads synchronously (SQLite: `TakeColumns`, lib/storage/line-reads.ts), so that many
 * callers never hold many unparsed histories at once; elsewhere it parses what the read resolves to.
 * Either way the same items, the same row ids, the same corrupt-row handling.
 */
describeEachDialect(
  'the whole read: parsed in the step that read it where the store reads synchronously',
  (dialect, baseUrl) => {
    const a = useMemory(dialect, baseUrl);
    const warnings = useLoggedWarnings();
    let n = 0;
    const fresh = () => `whole-read-${Date.now()}-${n++}`;

    /** q1, q2, a corrupt row, q3; returns the conversation id and the row ids of the three items. */
    async function seeded(): Promise<{ id: string; itemIds: string[] }> {
      const id = fresh();
      await a.memory.session(id).addItems([user('q1'), user('q2')]);
      await insertRawRows(a, id, ['{not json']);
      await a.memory.session(id).addItems([user('q3')]);
      const rows = await a.sql<{ id: number | string; message_data: string }>(
        `SELECT id, message_data FROM ${a.tables.messages} WHERE session_id = ? ORDER BY id`,
        [id],
      );
      return { id, itemIds: rows.filter((r) => r.message_data !== '{not json').map((r) => String(r.id)) };
    }

    it('a store hands the columns to take before its read resolves (SQLite), or resolves to them', async () => {
      const { id } = await seeded();
      const context = contextOf(a);
      for (const reads of [context.store, context.store.readsWhileMainIsCurrent()] as Pick<MainReads, 'readAll'>[]) {
        for (const filter of [undefined, { owner: 'ann', unowned: 'readable' as const }]) {
          let taken: StoredColumns | undefined;
          const read = reads.readAll(id, filter, (c) => (taken = c));
          const takenAtOnce = taken as StoredColumns | undefined; // before `read` is awaited
          const columns = await read;
          if (dialect === 'sqlite') {
            expect(takenAtOnce?.texts).toHaveLength(4);
            expect(columns).toEqual({ ids: [], texts: [] });
          } else {
            expect(taken).toBeUndefined();
            taken = columns;
          }
          expect(taken!.ids.map(Number)).toEqual([...taken!.ids.map(Number)].sort((x, y) => x - y));
          expect(taken!.texts[2]).toBe('{not json');
        }
        // The owner filter stays in the statement: nothing for a caller who may not read it.
        let hidden: StoredColumns | undefined;
        const columns = await reads.readAll(id, { owner: 'ann', unowned: 'hidden' }, (c) => (hidden = c));
        expect((hidden ?? columns).texts).toEqual([]);
      }
    });

    it('passes over a corrupt row with one warning, and gives the row ids of exactly the items returned', async () => {
      const { id, itemIds } = await seeded();
      warnings.length = 0;
      const readIds: (number | string)[] = [];
      const items = await readWholeHistory(contextOf(a), id, undefined, readIds);
      expect(texts(items)).toEqual(['q1', 'q2', 'q3']);
      expect(readIds.map(String)).toEqual(itemIds);
      expect(warnings.filter((w) => /Skipped 1 corrupt row \(id=\d+\)/.test(w))).toHaveLength(1);
      warnings.length = 0;
      expect(texts(await a.memory.session(id).getItems())).toEqual(['q1', 'q2', 'q3']);
      expect(warnings.filter((w) => /Skipped 1 corrupt row/.test(w))).toHaveLength(1);
    });

    it('many whole reads at once each return the whole history', async () => {
      const { id } = await seeded();
      const reads = await Promise.all(Array.from({ length: 16 }, () => a.memory.session(id).getItems()));
      for (const items of reads) expect(texts(items)).toEqual(['q1', 'q2', 'q3']);
    });
  },
);
