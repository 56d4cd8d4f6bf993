import type { ConversationSession, SessionItem } from '../../lib';
import { SessionStorageUnavailableError } from '../../lib';

/**
 * The load harness shared by load.spec.ts and its SQLite child process: client loops that drive
 * add / get / pop against one or more module instances and check every answer against a model.
 *
 * - Strict clients take a harness lock per conversation for each operation, so each conversation has
 *   one linear history: an acknowledged add appends to the model, a get must equal the model (or its
 *   tail), a pop must return the model's last item.
 * - Hot clients hammer a few shared conversations without any lock, each adding items tagged with its
 *   own id and sequence number, and popping. Checked at the end: every acknowledged add is either still
 *   stored or was returned by exactly one pop, nothing else is stored, and each client's items keep
 *   its order.
 */

/** Something that hands out sessions: a `SessionMemoryService`. */
export interface SessionSource {
  session(id: string): ConversationSession;
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Shared stop condition: an operation budget and a wall-clock deadline, whichever comes first. */
export class Budget {
  private remaining: number;
  private readonly deadline: number;
  constructor(operations: number, wallMs: number) {
    this.remaining = operations;
    this.deadline = Date.now() + wallMs;
  }
  take(): boolean {
    if (this.remaining <= 0 || Date.now() >= this.deadline) return false;
    this.remaining--;
    return true;
  }
}

/** Counters and the violations found (an empty list is the pass condition). */
export class LoadStats {
  adds = 0;
  gets = 0;
  pops = 0;
  retries = 0;
  readonly latenciesMs: number[] = [];
  readonly violations: string[] = [];
  get operations(): number {
    return this.adds + this.gets + this.pops;
  }
  violation(text: string): void {
    if (this.violations.length < 20) this.violations.push(text);
  }
  percentile(p: number): number {
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
  }
}

/** Per-key serialisation inside the test process (the harness's own, independent of the library's). */
export class HarnessLocks {
  private readonly tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(work, work);
    this.tails.set(
      key,
      result.catch(() => undefined),
    );
    return result;
  }
}

const text = (item: SessionItem | undefined) => (item ? (item as { content: string }).content : undefined);
const texts = (items: SessionItem[]) => items.map(text);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs `work`, retrying it (at most `retries` times) only when it fails with
 * `SessionStorageUnavailableError` before being acknowledged (safe: nothing was written then, on the
 * dialects it is used with here: SQLite's busy errors happen before the write).
 */
async function withRetries<T>(stats: LoadStats, retries: number, work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof SessionStorageUnavailableError) || attempt >= retries) throw err;
      stats.retries++;
      await new Promise((r) => setTimeout(r, 5 + 20 * attempt));
    }
  }
}

export interface StrictClientOptions {
  clientId: string;
  sources: SessionSource[];
  conversations: string[];
  model: Map<string, SessionItem[]>;
  locks: HarnessLocks;
  rng: Rng;
  budget: Budget;
  stats: LoadStats;
  /** Retries of a call refused as unavailable (0 on server dialects: there it is a violation). */
  retries?: number;
}

/** A client whose every operation is checked against the per-conversation model. */
export async function strictClient(o: StrictClientOptions): Promise<void> {
  let seq = 0;
  while (o.budget.take()) {
    const conv = o.conversations[o.rng.int(o.conversations.length)];
    const source = o.sources[o.rng.int(o.sources.length)];
    const roll = o.rng.next();
    await o.locks.run(conv, async () => {
      const session = source.session(conv);
      const expected = o.model.get(conv) ?? [];
      o.model.set(conv, expected);
      const started = Date.now();
      try {
        if (roll < 0.45) {
          const items = Array.from({ length: 1 + o.rng.int(3) }, (): SessionItem => ({
            role: 'user',
            content: `${o.clientId}:${++seq}`,
          }));
          await withRetries(o.stats, o.retries ?? 0, () => session.addItems(items));
          expected.push(...items);
          o.stats.adds++;
        } else if (roll < 0.8) {
          const limit = o.rng.next() < 0.5 ? undefined : o.rng.int(6);
          const got = await withRetries(o.stats, o.retries ?? 0, () => session.getItems(limit));
          const want = limit === undefined ? expected : limit === 0 ? [] : expected.slice(-limit);
          if (!same(texts(got), texts(want))) {
            o.stats.violation(
              `${conv}: getItems(${limit}) returned ${JSON.stringify(texts(got))}, model has ${JSON.stringify(texts(want))}`,
            );
          }
          o.stats.gets++;
        } else {
          const got = await withRetries(o.stats, o.retries ?? 0, () => session.popItem());
          const want = expected.pop();
          if (text(got) !== text(want))
            o.stats.violation(`${conv}: popItem returned ${text(got)}, model's last is ${text(want)}`);
          o.stats.pops++;
        }
      } catch (err) {
        o.stats.violation(`${conv}: ${o.clientId} failed: ${(err as Error).message}`);
      }
      o.stats.latenciesMs.push(Date.now() - started);
    });
  }
}

/** What hot clients did, per conversation: acknowledged adds (per client, in order) and popped texts. */
export interface HotLedger {
  added: Record<string, Record<string, string[]>>;
  popped: Record<string, string[]>;
}

export interface HotClientOptions {
  clientId: string;
  sources: SessionSource[];
  conversations: string[];
  ledger: HotLedger;
  rng: Rng;
  budget: Budget;
  stats: LoadStats;
  retries?: number;
  /** Share of operations that are pops (default 0.3). */
  popShare?: number;
}

/** A client that adds, reads and pops on shared conversations with no coordination at all. */
export async function hotClient(o: HotClientOptions): Promise<void> {
  let seq = 0;
  while (o.budget.take()) {
    const conv = o.conversations[o.rng.int(o.conversations.length)];
    const session = o.sources[o.rng.int(o.sources.length)].session(conv);
    const roll = o.rng.next();
    const started = Date.now();
    try {
      if (roll < 1 - (o.popShare ?? 0.3) - 0.1) {
        const content = `${o.clientId}:${++seq}`;
        await withRetries(o.stats, o.retries ?? 0, () => session.addItems([{ role: 'user', content }]));
        ((o.ledger.added[conv] ??= {})[o.clientId] ??= []).push(content);
        o.stats.adds++;
      } else if (roll < 1 - (o.popShare ?? 0.3)) {
        await withRetries(o.stats, o.retries ?? 0, () => session.getItems());
        o.stats.gets++;
      } else {
        const got = await withRetries(o.stats, o.retries ?? 0, () => session.popItem());
        if (got) (o.ledger.popped[conv] ??= []).push(text(got)!);
        o.stats.pops++;
      }
    } catch (err) {
      o.stats.violation(`${conv}: hot client ${o.clientId} failed: ${(err as Error).message}`);
    }
    o.stats.latenciesMs.push(Date.now() - started);
  }
}

/**
 * Checks one hot conversation: stored + popped = acknowledged adds exactly (no loss, no duplicate, no
 * stranger), and each client's stored items keep the order it added them in. Returns the problems.
 */
export function checkHotConversation(conv: string, stored: string[], ledgers: HotLedger[]): string[] {
  const problems: string[] = [];
  const added = new Map<string, number>();
  for (const ledger of ledgers) {
    for (const list of Object.values(ledger.added[conv] ?? {}))
      for (const t of list) added.set(t, (added.get(t) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  const popped = ledgers.flatMap((l) => l.popped[conv] ?? []);
  for (const t of [...stored, ...popped]) seen.set(t, (seen.get(t) ?? 0) + 1);
  for (const [t, count] of seen) {
    if (!added.has(t)) problems.push(`${conv}: ${t} is stored or popped but was never acknowledged`);
    else if (count > 1) problems.push(`${conv}: ${t} appears ${count} times across stored and popped items`);
  }
  for (const t of added.keys()) if (!seen.has(t)) problems.push(`${conv}: acknowledged ${t} was lost`);
  const lastSeq = new Map<string, number>();
  for (const t of stored) {
    const [client, n] = [t.slice(0, t.lastIndexOf(':')), Number(t.slice(t.lastIndexOf(':') + 1))];
    if ((lastSeq.get(client) ?? 0) >= n) problems.push(`${conv}: ${t} is stored out of its client's order`);
    lastSeq.set(client, n);
  }
  return problems;
}
