import type { PlainRow } from '../encryption/sealing-store';

/**
 * The stored rows one reader knows of, which a compaction computed from that knowledge replaces:
 * the rows of a whole read, by row identity (their ids), plus the items it wrote since, by their
 * plaintext JSON (a multiset, since two items may be equal; their ids are not returned by an append).
 * Row identity, not stored text: a row re-encrypted between the read and the compaction (or stored
 * in any other form that keeps the item) is still recognised. Any other row was written by someone
 * else meanwhile and is not summarised by the compaction, so it is kept, after the replacement.
 * @internal
 */
export class KnownHistory {
  /** Built on first use: a whole read that is never followed by a compaction costs nothing more. */
  private builtIds: Set<string> | undefined;
  /** Plaintext JSON of the items written since the read, with their counts. */
  private readonly written = new Map<string, number>();

  /** @param readIds the ids of the rows a whole read returned items for (rows it skipped are not known). */
  constructor(private readonly readIds: readonly (number | string)[] = []) {}

  /** What a writer knows after a write that left exactly these items (plaintext JSON) stored. */
  static ofWritten(json: readonly string[]): KnownHistory {
    const known = new KnownHistory();
    known.add(json);
    return known;
  }

  private get ids(): Set<string> {
    if (!this.builtIds) {
      this.builtIds = new Set();
      for (const id of this.readIds) this.builtIds.add(String(id));
    }
    return this.builtIds;
  }

  /** Records items this reader wrote (their plaintext JSON). */
  add(json: readonly string[]): void {
    for (const text of json) this.written.set(text, (this.written.get(text) ?? 0) + 1);
  }

  /** Forgets a row this reader removed (`json`: its item's plaintext JSON). */
  remove(id: number | string, json: string): void {
    if (this.ids.delete(String(id))) return;
    const n = this.written.get(json);
    if (n === undefined) return;
    if (n <= 1) this.written.delete(json);
    else this.written.set(json, n - 1);
  }

  /**
   * A check of stored rows (the locked rows a compaction replaces, oldest first, each once): whether
   * the row is known. Its plaintext (`message_data`, undefined when it does not open) is asked for
   * only for rows the whole read did not return. Each written item matches one row at most.
   * A new check per pass (a retried transaction starts again).
   */
  matcher(): (row: PlainRow) => boolean {
    const ids = this.ids;
    const written = new Map(this.written);
    return (row) => {
      if (ids.has(String(row.id))) return true;
      if (written.size === 0) return false;
      const json = row.message_data;
      const n = json === undefined ? undefined : written.get(json);
      if (json === undefined || n === undefined) return false;
      if (n <= 1) written.delete(json);
      else written.set(json, n - 1);
      return true;
    };
  }
}
