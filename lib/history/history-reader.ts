import type { Logger } from '@nestjs/common';
import type { PlainColumns, PlainRow, SealingStore } from '../encryption/sealing-store';
import type { SessionItem } from '../interfaces';
import type { MainReads } from '../storage/line-reads';
import type { OwnerFilter, SkippedRows } from '../storage/session-store';
import { parseJsonObject } from '../validation/json-object';

/**
 * What a history read needs: the items in plaintext (the sealing layer) and where to warn. @internal
 */
export interface HistoryReadContext {
  readonly items: SealingStore;
  readonly logger: Pick<Logger, 'warn'>;
}

/** Most rows one read fetches while passing over corrupt rows. */
const READ_BATCH_MAX = 1000;

/** The item of a row's plaintext: undefined when it does not open or is not a JSON object (a corrupt row). @internal */
export function itemOf(json: string | undefined): SessionItem | undefined {
  return json === undefined ? undefined : (parseJsonObject(json) as SessionItem | undefined);
}

/** The items of plaintext texts, in order, passing over the ones that give none (no warning). @internal */
export function itemsOf(texts: readonly (string | undefined)[]): SessionItem[] {
  const items: SessionItem[] = [];
  for (const text of texts) {
    const item = itemOf(text);
    if (item) items.push(item);
  }
  return items;
}

/**
 * The whole history, oldest first, passing over corrupt rows (with one warning). `readIds` gets the
 * ids of the rows that gave items: what a compaction computed from this read replaces. Parsed in the
 * step that read the rows where the store reads synchronously (SQLite: see `TakeColumns`); sealed
 * rows are opened by the sealing layer first, and parsed after the read.
 * @internal
 */
export async function readWholeHistory(
  context: HistoryReadContext,
  conversationId: string,
  filter: OwnerFilter | undefined,
  readIds: (number | string)[],
): Promise<SessionItem[]> {
  const { items: sealed } = context;
  const parse = (columns: PlainColumns) => historyOf(context, conversationId, columns, readIds);
  if (sealed.sealing) return parse(await sealed.readAll(conversationId, filter));
  // Unsealed, the store's texts are the plaintext (what `sealed.readAll` passes through).
  const store: Pick<MainReads, 'readAll'> = sealed.store;
  let taken: SessionItem[] | undefined;
  const columns = await store.readAll(conversationId, filter, (c) => (taken = parse(c)));
  return taken ?? parse(columns);
}

/** The items of a whole read's columns, their row ids into `readIds`; corrupt rows passed over with one warning. */
function historyOf(
  context: HistoryReadContext,
  conversationId: string,
  { ids, texts }: PlainColumns,
  readIds: (number | string)[],
): SessionItem[] {
  const n = texts.length;
  const items = new Array<SessionItem>(n);
  let count = 0;
  let skipped: SkippedRowsCounter | undefined;
  for (let i = 0; i < n; i++) {
    const item = itemOf(texts[i]);
    if (item) {
      items[count++] = item;
      readIds.push(ids[i]);
    } else (skipped ??= new SkippedRowsCounter()).add({ id: ids[i], message_data: texts[i] });
  }
  if (skipped) {
    items.length = count;
    warnSkipped(context, conversationId, skipped.result);
  }
  return items;
}

/**
 * The newest `limit` items, oldest first. One read without ids when every row gives an item; when
 * one does not, reads again with ids, older and older in batches that grow (up to READ_BATCH_MAX
 * rows), so that `limit` valid items come back and many corrupt rows cost a few queries.
 * @internal
 */
export async function readNewestItems(
  context: HistoryReadContext,
  conversationId: string,
  limit: number,
  filter: OwnerFilter | undefined,
): Promise<SessionItem[]> {
  const { items: sealed } = context;
  const fast = parseAll(await sealed.readNewestData(conversationId, limit, filter));
  if (fast) return fast;
  const newestFirst: SessionItem[] = [];
  const skipped = new SkippedRowsCounter();
  let before: number | string | undefined;
  for (let batch = limit; ; batch = Math.min(Math.max(batch * 4, limit), READ_BATCH_MAX)) {
    const rows = await sealed.readNewest(conversationId, batch, before, filter);
    for (const row of rows) {
      if (newestFirst.length >= limit) break;
      const item = itemOf(row.message_data);
      if (item) newestFirst.push(item);
      else skipped.add(row);
    }
    if (rows.length < batch || newestFirst.length >= limit) break;
    before = rows[rows.length - 1].id;
  }
  warnSkipped(context, conversationId, skipped.result);
  return newestFirst.reverse();
}

/**
 * One page: the items of the `limit` rows stored before the `before` row id (from the newest when
 * left out), oldest first, passing over corrupt rows (with one warning), and the cursor of the page
 * before it when there is one.
 * @internal
 */
export async function readItemsPage(
  context: HistoryReadContext,
  conversationId: string,
  limit: number,
  before: string | undefined,
  filter: OwnerFilter | undefined,
): Promise<{ items: SessionItem[]; before?: string }> {
  const rows = await context.items.readNewest(conversationId, limit + 1, before, filter);
  const page = rows.slice(0, limit);
  const items: SessionItem[] = [];
  const skipped = new SkippedRowsCounter();
  for (const row of page) {
    const item = itemOf(row.message_data);
    if (item) items.push(item);
    else skipped.add(row);
  }
  warnSkipped(context, conversationId, skipped.result);
  items.reverse();
  return rows.length > limit ? { items, before: String(page[page.length - 1].id) } : { items };
}

/** One warning per call, however many corrupt rows it passed over. @internal */
export function warnSkipped(context: HistoryReadContext, conversationId: string, skipped: SkippedRows): void {
  if (skipped.count === 0) return;
  const ids =
    skipped.count === 1 ? `id=${skipped.newestId}` : `ids between ${skipped.oldestId} and ${skipped.newestId}`;
  context.logger.warn(
    `Skipped ${skipped.count} corrupt row${skipped.count === 1 ? '' : 's'} (${ids}) of conversation ${JSON.stringify(conversationId)}: message_data is not a JSON object${context.items.sealing ? ', or an envelope no configured key opens' : ''}.`,
  );
}

/**
 * Newest-first texts as items, oldest first, or `undefined` as soon as one gives none: the caller
 * then reads again with row ids and passes over it with a warning.
 */
function parseAll(newestFirst: (string | undefined)[]): SessionItem[] | undefined {
  const n = newestFirst.length;
  const items = new Array<SessionItem>(n);
  for (let i = 0; i < n; i++) {
    const item = itemOf(newestFirst[i]);
    if (!item) return undefined;
    items[n - 1 - i] = item;
  }
  return items;
}

/** Counts corrupt rows met in any order, keeping the range of their ids. */
class SkippedRowsCounter {
  readonly result: SkippedRows = { count: 0 };
  add(row: PlainRow): void {
    const r = this.result;
    if (r.count === 0 || Number(row.id) > Number(r.newestId)) r.newestId = row.id;
    if (r.count === 0 || Number(row.id) < Number(r.oldestId)) r.oldestId = row.id;
    r.count++;
  }
}
