import type { StoredRow } from '../storage/session-store';

/**
 * The stored rows one reader knows of: the texts of a whole read, plus what it wrote since (a
 * multiset, since two items may have the same text). A compaction computed from that knowledge
 * replaces only those rows: any other row was written by someone else meanwhile and is not
 * summarised by the compaction, so it is kept, after the replacement.
 * @internal
 */
export class KnownHistory {
  /** Built on first use: a whole read that is never followed by a write or a compaction costs nothing. */
  private built: Map<string, number> | undefined;

  constructor(private readonly read: readonly string[]) {}

  private get counts(): Map<string, number> {
    if (!this.built) {
      this.built = new Map();
      for (const text of this.read) this.built.set(text, (this.built.get(text) ?? 0) + 1);
    }
    return this.built;
  }

  /** Records rows this reader wrote. */
  add(texts: readonly string[]): void {
    const counts = this.counts;
    for (const text of texts) counts.set(text, (counts.get(text) ?? 0) + 1);
  }

  /** Forgets one row this reader removed. */
  remove(text: string): void {
    const counts = this.counts;
    const n = counts.get(text);
    if (n === undefined) return;
    if (n <= 1) counts.delete(text);
    else counts.set(text, n - 1);
  }

  /** The texts of the stored rows (oldest first) this reader does not know of, in order. */
  unknown(rows: readonly StoredRow[]): string[] {
    const left = new Map(this.counts);
    const out: string[] = [];
    for (const row of rows) {
      const n = left.get(row.message_data);
      if (n === undefined) out.push(row.message_data);
      else if (n <= 1) left.delete(row.message_data);
      else left.set(row.message_data, n - 1);
    }
    return out;
  }
}
