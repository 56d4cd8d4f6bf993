import type { SessionItem } from '../interfaces';
import type { PlainRow } from '../encryption/sealing-store';
import type { NewestRowsReader } from './change-relay';
import type { ConversationChange } from './conversation-change';

/** How many of a conversation's newest row ids the hub remembers, to confirm remote pops. */
const TAIL = 16;
/** The first read for a remote `added` (then 4 times more per read, up to the hinted count). */
const FIRST_CHUNK = 4;
/** Local changes waiting for a check in progress; beyond this the hub reads the conversation afresh. @internal */
export const MAX_LOCAL_OPS = 64;

/** What the hub knows of a watched conversation's rows (ids of the messages table). @internal */
export interface View {
  /** Ids of its newest rows, newest first (at most TAIL), all at or below `watermark`. */
  tail: bigint[];
  /** True when `tail` holds every row at or below `watermark`. */
  complete: boolean;
  /** The highest row id accounted for: rows above it are new. */
  watermark: bigint;
  /** Items appended through this process since the hub last read the conversation (ids not known yet). */
  localAdded: number;
}

export type LocalOp = { type: 'added'; count: number } | { type: 'popped' } | { type: 'cleared' };

/** What arrived for a conversation since its last check; O(1) whatever arrives. @internal */
export interface Pending {
  added: number;
  popped: number;
  cleared: boolean;
  /** Local changes made while a check of the conversation was in progress, in order. */
  local: LocalOp[];
  /** Too many local changes to keep: read the conversation afresh. */
  reread: boolean;
}

/** Nothing pending. @internal */
export const noPending = (): Pending => ({ added: 0, popped: 0, cleared: false, local: [], reread: false });
const hasRemote = (p: Pending) => p.added > 0 || p.popped > 0 || p.cleared;

/**
 * Confirms the remote hints of one watched conversation against the database (see `ChangeHub`): its
 * view (the newest row ids, the watermark) is brought up to date with local changes, then each hint
 * is delivered only as far as a read confirms it.
 * @internal
 */
export class RemoteChangeCheck {
  constructor(
    /** Reads rows with their ids. */
    private readonly readNewest: NewestRowsReader,
    /** A row's plaintext as the item it holds, or undefined for a row that cannot be read (skipped). */
    private readonly decode: (conversationId: string, json: string | undefined) => SessionItem | undefined,
    /** The largest count accepted in a notification. */
    private readonly maxCount: number,
  ) {}

  /** Brings the view up to date with local changes, then confirms the remote hints against the database. */
  async check(
    conversationId: string,
    watch: { view?: View },
    p: Pending,
    live: () => boolean,
    deliver: (change: ConversationChange) => void,
  ): Promise<void> {
    if (!watch.view || p.reread) {
      watch.view = await this.firstRead(conversationId);
    } else {
      for (const op of p.local) applyLocal(watch.view, op);
    }
    const view = watch.view;
    if (view.localAdded > 0) {
      // Rows appended here: take their ids in, so that no hint reports them again as remote.
      const limit = Math.min(TAIL, view.localAdded);
      const rows = await this.readNewest(conversationId, limit);
      const fresh = ids(rows).filter((id) => id > view.watermark);
      view.localAdded = 0;
      takeNewRows(view, fresh, fresh.length === limit);
    }
    if (!hasRemote(p) || !live()) return;

    if (p.cleared || p.popped > 0) {
      const [below] = await this.readNewest(conversationId, 1, (view.watermark + 1n).toString());
      if (!live()) return;
      const remaining = below === undefined ? undefined : BigInt(below.id);
      const knownEmpty = view.tail.length === 0 && view.complete;
      if (p.cleared && remaining === undefined && !knownEmpty) {
        // None of the rows it knew is left: emptied, deleted, or its whole history replaced.
        view.tail = [];
        view.complete = true;
        deliver({ type: 'cleared', conversationId, origin: 'remote' });
      } else if (p.popped > 0) {
        let gone = 0;
        while (gone < view.tail.length && (remaining === undefined || view.tail[gone] > remaining)) gone++;
        const popped = Math.min(p.popped, gone);
        view.tail.splice(0, popped);
        for (let i = 0; i < popped; i++) deliver({ type: 'popped', conversationId, item: undefined, origin: 'remote' });
        if (popped > 0 && view.tail.length === 0 && !view.complete && remaining !== undefined) {
          const rows = await this.readNewest(conversationId, TAIL, (view.watermark + 1n).toString());
          view.tail = ids(rows);
          view.complete = rows.length < TAIL;
        }
      }
    }

    if (p.added > 0 && live()) {
      const { rows, more } = await this.readAbove(conversationId, view.watermark, Math.min(p.added, this.maxCount));
      if (rows.length === 0 || !live()) return;
      takeNewRows(view, ids(rows), more);
      const items: SessionItem[] = [];
      for (let i = rows.length - 1; i >= 0; i--) {
        const item = this.decode(conversationId, rows[i].message_data);
        if (item) items.push(item);
      }
      if (items.length > 0) deliver({ type: 'added', conversationId, items, count: items.length, origin: 'remote' });
    }
  }

  private async firstRead(conversationId: string): Promise<View> {
    const rows = await this.readNewest(conversationId, TAIL);
    const tail = ids(rows);
    return { tail, complete: rows.length < TAIL, watermark: tail[0] ?? 0n, localAdded: 0 };
  }

  /**
   * The rows above `watermark`, newest first, at most `limit`: read in growing chunks that stop at
   * the first older row, so that an inflated count costs at most one chunk more than what is new.
   * `more` when the limit was reached before an older row or the end.
   */
  private async readAbove(
    conversationId: string,
    watermark: bigint,
    limit: number,
  ): Promise<{ rows: PlainRow[]; more: boolean }> {
    const out: PlainRow[] = [];
    let before: string | undefined;
    let chunk = Math.min(limit, FIRST_CHUNK);
    for (;;) {
      const rows = await this.readNewest(conversationId, chunk, before);
      for (const row of rows) {
        if (BigInt(row.id) <= watermark) return { rows: out, more: false };
        out.push(row);
        if (out.length >= limit) return { rows: out, more: true };
      }
      if (rows.length < chunk) return { rows: out, more: false };
      before = String(rows[rows.length - 1].id);
      chunk = Math.min(limit - out.length, chunk * 4);
    }
  }
}

function ids(rows: PlainRow[]): bigint[] {
  return rows.map((r) => BigInt(r.id));
}

/** A change made through this process, applied to the view (no I/O). @internal */
export function applyLocal(view: View, op: LocalOp): void {
  if (op.type === 'added') view.localAdded += op.count;
  else if (op.type === 'popped') {
    if (view.localAdded > 0) view.localAdded--;
    else view.tail.shift();
  } else {
    view.tail = [];
    view.complete = true;
    view.localAdded = 0;
  }
}

/** New rows (ids above the watermark, newest first) enter the view; `gap` when older new rows were not read. */
function takeNewRows(view: View, fresh: bigint[], gap: boolean): void {
  if (fresh.length === 0) return;
  if (fresh[0] > view.watermark) view.watermark = fresh[0];
  const tail = gap ? fresh : [...fresh, ...view.tail];
  view.complete = !gap && view.complete && tail.length <= TAIL;
  view.tail = tail.slice(0, TAIL);
}
