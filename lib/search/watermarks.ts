/** Conversations remembered (least recently indexed forgotten first). */
const MAX_CONVERSATIONS = 10_000;

/** How long a watermark is trusted: after that a pass reads the whole conversation again. */
const TRUSTED_MS = 60_000;

/** A conversation's watermark: every row up to `id` this process appended has an entry. */
interface Watermark {
  id: bigint;
  at: number;
}

/** A read's view of one conversation's appends when it was sent (see `Watermarks.before`). */
export interface AppendsSeen {
  conversationId: string;
  /** Appends started so far, and whether one was running. */
  started: number;
  running: boolean;
}

/**
 * What this process knows of the rows of the conversations it appends to, so that an index pass after
 * appends reads only the rows after those it already indexed (O(new rows), not O(conversation)): per
 * conversation, a row id up to which every row this process appended has an entry.
 *
 * Why it is safe: row ids come from a sequence (PostgreSQL, Citus through the coordinator) or an
 * auto-increment counter (MySQL / MariaDB), so an append that starts after a read's snapshot gets a
 * larger id than every row that read saw. A watermark moves up to the largest id a read returned only
 * when no append of this process to that conversation ran at any time during the read (one still
 * uncommitted could hold a smaller id), and only once the pass's writes succeeded. Rows other
 * processes append are brought in step by those processes; rows that must be read again for another
 * reason (rewritten, removed) come with another effect, whose pass reads the whole conversation. A
 * watermark is trusted for a minute (then the conversation is read whole again: an entry lost in a
 * database crash, whose commits do not wait for the WAL flush, is found again), and all of them are
 * forgotten when a pass fails. Not on SQLite, which may give a deleted newest row's id again.
 * @internal
 */
export class Watermarks {
  private readonly marks = new Map<string, Watermark>();
  private readonly started = new Map<string, number>();
  private readonly running = new Map<string, number>();

  /** Around each append of this process (`appendStarted` before it, `appendEnded` after it, even on failure). */
  appendStarted(conversationId: string): void {
    this.started.set(conversationId, (this.started.get(conversationId) ?? 0) + 1);
    this.running.set(conversationId, (this.running.get(conversationId) ?? 0) + 1);
  }

  appendEnded(conversationId: string): void {
    const n = (this.running.get(conversationId) ?? 1) - 1;
    if (n > 0) this.running.set(conversationId, n);
    else {
      this.running.delete(conversationId);
      // Nothing running: the count of started appends is only compared while one may run or across a read.
      if (!this.reading.has(conversationId)) this.started.delete(conversationId);
    }
  }

  /** Conversations a read is in flight for (their started count must survive until it is compared). */
  private readonly reading = new Map<string, number>();

  /** The trusted watermark of a conversation (a row id), if any. */
  of(conversationId: string, now = Date.now()): string | undefined {
    const mark = this.marks.get(conversationId);
    if (!mark) return undefined;
    if (now - mark.at > TRUSTED_MS) {
      this.marks.delete(conversationId);
      return undefined;
    }
    return mark.id.toString();
  }

  /** When a pass last read each conversation whole and succeeded (the least recent first). */
  private readonly wholeReads = new Map<string, number>();

  /**
   * Whether a pass that succeeded read the conversation whole within the last minute (whatever appends
   * ran meanwhile): rows other writers added before it have their entries, so a pass after this
   * process's appends may index those appends' rows alone (`SearchIndex.touched`'s `appended`).
   */
  readWholeRecently(conversationId: string, now = Date.now()): boolean {
    const at = this.wholeReads.get(conversationId);
    if (at === undefined) return false;
    if (now - at <= TRUSTED_MS) return true;
    this.wholeReads.delete(conversationId);
    return false;
  }

  /** Called just before a read of these conversations is sent. */
  before(conversationIds: readonly string[]): AppendsSeen[] {
    return conversationIds.map((conversationId) => {
      this.reading.set(conversationId, (this.reading.get(conversationId) ?? 0) + 1);
      return {
        conversationId,
        started: this.started.get(conversationId) ?? 0,
        running: this.running.has(conversationId),
      };
    });
  }

  /**
   * Called once the read returned and the pass's writes succeeded (`ok`), with the largest main row id
   * the read returned per conversation and the conversations it read whole (not after a watermark):
   * moves each watermark whose conversation had no append running during the read. Called with `ok`
   * false (a failed pass) it forgets every watermark.
   */
  after(
    seen: readonly AppendsSeen[],
    largest: ReadonlyMap<string, bigint>,
    full: ReadonlySet<string>,
    ok: boolean,
  ): void {
    const now = Date.now();
    for (const s of seen) {
      const unchanged = !s.running && (this.started.get(s.conversationId) ?? 0) === s.started;
      const n = (this.reading.get(s.conversationId) ?? 1) - 1;
      if (n > 0) this.reading.set(s.conversationId, n);
      else {
        this.reading.delete(s.conversationId);
        if (!this.running.has(s.conversationId)) this.started.delete(s.conversationId);
      }
      if (ok && full.has(s.conversationId)) {
        this.wholeReads.delete(s.conversationId);
        this.wholeReads.set(s.conversationId, now);
        if (this.wholeReads.size > MAX_CONVERSATIONS)
          this.wholeReads.delete(this.wholeReads.keys().next().value as string);
      }
      if (!ok || !unchanged) continue;
      const top = largest.get(s.conversationId);
      const old = this.marks.get(s.conversationId);
      const id = top === undefined ? old?.id : old === undefined || top > old.id ? top : old.id;
      if (id === undefined) continue;
      this.marks.delete(s.conversationId); // re-inserted: the newest last (the oldest are forgotten first)
      // `at`: when the conversation was last read whole (a read after a watermark keeps its time).
      this.marks.set(s.conversationId, { id, at: old && !full.has(s.conversationId) ? old.at : now });
      if (this.marks.size > MAX_CONVERSATIONS) this.marks.delete(this.marks.keys().next().value as string);
    }
    if (!ok) {
      this.marks.clear();
      this.wholeReads.clear();
    }
  }
}
