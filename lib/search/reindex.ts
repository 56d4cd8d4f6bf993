import { InvalidManagementOptionsError } from '../exceptions';
import type { ReindexOptions, ReindexResult } from '../interfaces/search.interface';
import type { SessionMemoryContext } from '../session-memory.context';
import type { SearchRowWrite } from '../storage/search/search-statements';
import { isRowIdText } from '../validation/row-id';
import type { RowToIndex } from './search-index';
import { requireSearch } from './search-conversations';
import { searchEntryOf } from './search-entry';

const DEFAULT_BATCH = 1000;
const MAX_BATCH = 10_000;

/**
 * `SessionMemoryService.reindex`: one bounded, resumable step over the messages table in id order.
 * Rows without an up-to-date entry (written by Python's SQLAlchemySession, before search was turned
 * on, or while a sync failed) are indexed; entries in the scanned id range whose row is gone or changed
 * are removed. Plain reads and upserts of the search table: no lock is taken on the messages table,
 * so writers never wait for it. With `encryption` set, only removes.
 * @internal
 */
export async function reindexStep(context: SessionMemoryContext, options: ReindexOptions = {}): Promise<ReindexResult> {
  const search = requireSearch(context, 'reindex');
  if (options === null || typeof options !== 'object')
    throw new InvalidManagementOptionsError('reindex expects an options object { batchSize?, cursor? }.');
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
    throw new InvalidManagementOptionsError(
      `reindex batchSize must be a whole number from 1 to ${MAX_BATCH}, got ${String(batchSize)}.`,
    );
  }
  const after = options.cursor ?? '0';
  if (!isRowIdText(after, { allowZero: true })) {
    throw new InvalidManagementOptionsError(
      'reindex cursor must be the nextCursor of a previous reindex() call (a row id); omit it to start from the beginning.',
    );
  }
  const { statements, query } = search.storage;
  return context.gate.guard('reindex', async () => {
    const scan = statements.scan(after, batchSize);
    const rows = await query<RowToIndex & { session_id: string; indexed_length: number | string | null }>(
      scan.sql,
      scan.params,
    );
    const stale = rows.filter((r) => r.indexed_length === null || Number(r.indexed_length) !== Number(r.data_length));
    const writes: SearchRowWrite[] = search.options.sealed
      ? []
      : stale.map((r) => searchEntryOf(search.options.include, r.session_id, r));
    await search.write(writes);
    const last = rows.length === batchSize ? String(rows[rows.length - 1].id) : undefined;
    const del = statements.deleteStaleRange(after, last);
    const removed = await query(del.sql, del.params);
    return {
      scanned: rows.length,
      indexed: writes.length,
      removed: affectedRows(removed),
      nextCursor: last,
    };
  });
}

/** The number of rows a DELETE removed, as the DataSource's `query` reports it per driver. */
function affectedRows(result: unknown): number {
  if (Array.isArray(result)) {
    // postgres: [rows, count]; others: an array of rows (none for a DELETE)
    if (result.length === 2 && typeof result[1] === 'number') return result[1];
    return 0;
  }
  const r = result as { affectedRows?: number; changes?: number } | undefined;
  return Number(r?.affectedRows ?? r?.changes ?? 0);
}
