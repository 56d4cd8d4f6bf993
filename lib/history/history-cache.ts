import type { ItemCodec } from '../encryption/item-codec';
import type { SessionItem } from '../interfaces';
import type { DeltaRow, HistoryDelta, HistoryDeltaQuery } from '../storage/history-cache/history-delta.reader';
import type { OwnerFilter, SkippedRows } from '../storage/session-store';
import { rememberUserMessages } from '../structure/run-usage';
import { isUserMessage } from '../structure/turns';
import { HistoryReadContext, itemOf, readWholeHistory, warnSkipped } from './history-reader';

/** Bytes counted per row beyond its text (the item object, its slot in two arrays). */
const ROW_OVERHEAD = 160;
/** Bytes counted per entry (the entry object, the map's slot). */
const ENTRY_OVERHEAD = 200;

/**
 * One conversation's main-line history as of one snapshot: its items (deep-frozen: shared by every
 * read that returns them), the ids of the rows that gave them, and the fingerprint of all its rows,
 * corrupt ones included (how many, the sum of their ids, the sum of their tags: see `history-delta.sql.ts`).
 * Its items are the first `length` of `items` (and their ids the first `length` of `itemIds`): an entry
 * extended by the rows added since shares its arrays with the entry it extends, appending after its
 * `length` (see `extend`), so that a read costs the rows added since, not a copy of the history.
 */
interface Entry {
  readonly newestId: number | string;
  readonly count: bigint;
  readonly idSum: bigint;
  readonly tagSum: bigint;
  readonly items: SessionItem[];
  readonly itemIds: (number | string)[];
  readonly length: number;
  /** How many of the items are user messages (`isUserMessage`), for the usage pass of a run's first read. */
  readonly userMessages: number;
  readonly bytes: number;
}

/** No rows read yet: every row is after it (its arrays are never appended to). */
const EMPTY: Entry = Object.freeze({
  newestId: -1,
  count: 0n,
  idSum: 0n,
  tagSum: 0n,
  items: Object.freeze([]) as unknown as SessionItem[],
  itemIds: Object.freeze([]) as unknown as (number | string)[],
  length: 0,
  userMessages: 0,
  bytes: ENTRY_OVERHEAD,
});

/** Freezes a parsed JSON value and everything in it. */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}

/**
 * The `historyCache` option: a per-process, byte-bounded (least recently used first out) cache of
 * recently read conversations' whole main-line histories. Every whole read (`getItems()` with no
 * limit, the runner's read) sends one statement that, in one snapshot, fingerprints the rows the
 * entry holds and returns the rows added since; when the fingerprint is the entry's, the history is
 * the entry's items plus the new rows (only those cross the wire), else the whole history is read
 * again. Why the fingerprint sees every change, by anyone: docs/history-cache.md.
 * @internal
 */
export class HistoryCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Whole reads answered from an entry and the rows added since it (for tests and the benchmark). */
  hits = 0;
  /** Whole reads that read every row (no entry, or its rows had changed). */
  misses = 0;

  constructor(
    /** The bound of `size`. */
    readonly maxBytes: number,
    private readonly query: HistoryDeltaQuery,
    private readonly codec: ItemCodec,
  ) {}

  /** Estimated bytes held (never above `maxBytes`). */
  get size(): number {
    return this.bytes;
  }

  /** How many conversations are held. */
  get conversations(): number {
    return this.entries.size;
  }

  /**
   * The whole main-line history of `conversationId`, as `readWholeHistory` returns it (the same items,
   * the same row ids into `readIds`), corrupt rows among those read now passed over with one warning.
   */
  async read(
    context: HistoryReadContext,
    conversationId: string,
    readIds: (number | string)[],
  ): Promise<SessionItem[]> {
    const cached = this.entries.get(conversationId);
    let entry: Entry | undefined;
    if (cached !== undefined) {
      const delta = await this.query(conversationId, cached.newestId);
      if (unchanged(cached, delta)) entry = this.extend(context, conversationId, cached, delta.rows);
    }
    if (entry) this.hits++;
    else this.misses++;
    entry ??= this.extend(context, conversationId, EMPTY, (await this.query(conversationId, -1)).rows);
    this.keep(conversationId, entry);
    const { itemIds, length } = entry;
    for (let i = 0; i < length; i++) readIds.push(itemIds[i]);
    const items = entry.items.slice(0, length);
    rememberUserMessages(items, entry.userMessages);
    return items;
  }

  /**
   * `base` with `rows` (oldest first) after it: a new entry. An entry never changes: concurrent reads
   * share it. The new entry appends to `base`'s arrays when nothing was appended after `base`'s items yet
   * (`base` still sees only its first `length`), else to copies of `base`'s items.
   */
  private extend(context: HistoryReadContext, conversationId: string, base: Entry, rows: DeltaRow[]): Entry {
    if (rows.length === 0) return base;
    const shared = base !== EMPTY && base.items.length === base.length && base.itemIds.length === base.length;
    const items = shared ? base.items : base.items.slice(0, base.length);
    const itemIds = shared ? base.itemIds : base.itemIds.slice(0, base.length);
    let { count, idSum, tagSum, bytes, userMessages } = base;
    const skipped: SkippedRows = { count: 0 };
    for (const row of rows) {
      const text = this.codec.sealing ? this.codec.open(conversationId, row.stored) : row.stored;
      const item = itemOf(text);
      if (item) {
        deepFreeze(item);
        items.push(item);
        itemIds.push(row.id);
        if (isUserMessage(item)) userMessages++;
      } else {
        if (skipped.count++ === 0) skipped.oldestId = row.id;
        skipped.newestId = row.id;
      }
      count += 1n;
      idSum += BigInt(row.id);
      tagSum += row.tag;
      bytes += ROW_OVERHEAD + 2 * Math.max(row.stored.length, text?.length ?? 0);
    }
    warnSkipped(context, conversationId, skipped);
    const newestId = rows[rows.length - 1].id;
    return { newestId, count, idSum, tagSum, items, itemIds, length: items.length, userMessages, bytes };
  }

  /** Keeps `entry` as the most recently used, evicting the least recently used beyond the bound. */
  private keep(conversationId: string, entry: Entry): void {
    const previous = this.entries.get(conversationId);
    if (previous !== undefined) {
      this.entries.delete(conversationId);
      this.bytes -= previous.bytes;
    }
    if (entry.bytes > this.maxBytes) return; // larger than the whole cache: not kept
    this.entries.set(conversationId, entry);
    this.bytes += entry.bytes;
    for (const [oldest, evicted] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= evicted.bytes;
    }
  }
}

/** Whether the rows an entry holds are, by their fingerprint in `delta`, those it was built from. */
function unchanged(entry: Entry, delta: HistoryDelta): boolean {
  return delta.count === entry.count && delta.idSum === entry.idSum && delta.tagSum === entry.tagSum;
}

/**
 * A session's whole-history read (`getItems()` with no limit): through the cache when the module has
 * one, the read is of the main line (`line` is the module's context itself, as `SessionLines` hands it
 * for main) and carries no owner filter; otherwise `readWholeHistory`.
 * @internal
 */
export function readWholeHistoryCached(
  line: HistoryReadContext,
  context: HistoryReadContext & { readonly historyCache?: HistoryCache },
  conversationId: string,
  filter: OwnerFilter | undefined,
  readIds: (number | string)[],
): Promise<SessionItem[]> {
  const cache = context.historyCache;
  if (cache === undefined || filter !== undefined || line !== context) {
    return readWholeHistory(line, conversationId, filter, readIds);
  }
  return cache.read(line, conversationId, readIds);
}
