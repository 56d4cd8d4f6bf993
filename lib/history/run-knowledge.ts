import type { LockedRow } from '../encryption/sealing-store';
import { KnownHistory } from './known-history';

/**
 * What one `ConversationSession` knows of its conversation's rows, which decides what a compaction
 * replaces: its latest whole read (kept up to date by its own writes), and per runner run (the run
 * context object) what that run's first whole read returned, the history the model saw, plus the
 * run's writes. Plaintext only (item JSON and row ids).
 * @internal
 */
export class RunKnowledge {
  /** The latest whole read of this session, kept up to date by its writes. */
  private latest: KnownHistory | undefined;
  /** Per runner run; made on first use (a session used without run contexts never needs it). */
  private byRun: WeakMap<object, KnownHistory> | undefined;

  /** A whole read (the ids of the rows it returned items for): what this session, and a run that has not read yet, know. */
  learn(ids: readonly (number | string)[], run: object | undefined): void {
    this.latest = new KnownHistory(ids);
    // A run keeps its first read: a second one (the runner's, just before compacting) may hold rows
    // others added after the model's input was read, which the compaction does not summarise.
    if (run && !this.byRun?.has(run)) (this.byRun ??= new WeakMap()).set(run, new KnownHistory(ids));
  }

  /** A write that left exactly these items stored (their plaintext JSON: a clear, a compaction). */
  learnExact(json: readonly string[], run: object | undefined): void {
    this.latest = KnownHistory.ofWritten(json);
    if (run) (this.byRun ??= new WeakMap()).set(run, KnownHistory.ofWritten(json));
  }

  /** Items this session wrote, as plaintext JSON (added to what it, and the run, know). */
  wrote(json: readonly string[], run: object | undefined): void {
    for (const known of this.of(run)) known.add(json);
  }

  /**
   * A row this session removed (`json`: its item's plaintext JSON, '' when it did not open; or a
   * function giving it, called only when something is known).
   */
  removed(id: number | string, json: string | (() => string), run: object | undefined): void {
    const knowns = this.of(run);
    if (knowns.length === 0) return;
    const text = typeof json === 'string' ? json : json();
    for (const known of knowns) known.remove(id, text);
  }

  /** What a compaction in `run` was computed from: the run's first read when there is one, else this session's latest. */
  basis(run: object | undefined): KnownHistory | undefined {
    return (run && this.byRun?.get(run)) ?? this.latest;
  }

  /** Before a change whose effect on the rows is not tracked: nothing is known until the next whole read. */
  forget(): void {
    this.latest = undefined;
    this.byRun = undefined;
  }

  /** What this session knows, and what the run knows: the ones there are. */
  private of(run: object | undefined): KnownHistory[] {
    const ofRun = run && this.byRun?.get(run);
    return [this.latest, ofRun].filter((k): k is KnownHistory => k !== undefined);
  }
}

/**
 * The rows (locked, oldest first) a compaction stores again after its items: the ones it was not
 * computed from (`known` does not know them: others wrote them meanwhile), and every row that must be
 * kept (no configured key opens it), which is never deleted. Without knowledge, only the latter.
 * @internal
 */
export function rowsToKeep(rows: LockedRow[], known: KnownHistory | undefined): LockedRow[] {
  const knows = known?.matcher();
  const kept: LockedRow[] = [];
  for (const row of rows) {
    if (knows?.(row)) continue;
    if (row.message_data !== undefined ? knows !== undefined : row.mustKeep) kept.push(row);
  }
  return kept;
}
