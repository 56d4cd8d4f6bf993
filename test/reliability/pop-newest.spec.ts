import type { AgentInputItem } from '@openai/agents';
import { describeEachDialect } from '../support/databases';
import { useMemoryPair } from '../support/memory';
import { user } from '../support/items';

/** Writers (and poppers) per module instance; two instances, so twice that in all. */
const WRITERS = 2;
const POPPERS = 2;
/** Appends each writer makes, one item each, one after the other. */
const APPENDS = 30;

/** A logical clock of this process: events observed in real-time order get increasing ticks. */
let clock = 0;
const tick = () => ++clock;

interface Write {
  n: number;
  invoked: number;
  acked?: number;
}
interface Pop {
  popper: string;
  invoked: number;
  completed: number;
  /** The item's number, or undefined for an empty pop. */
  got?: number;
}

const numberOf = (item: AgentInputItem | undefined): number | undefined =>
  item === undefined ? undefined : Number(String((item as { content: string }).content).slice(1));

/**
 * popItem under concurrent appends and pops from two module instances (two pools, as two processes),
 * on one conversation: every acknowledged item is popped exactly once or still stored at the end, and
 * no pop passes over an item it must have seen. Sound for any linearizable stack: when item x was
 * acknowledged before item y's append began, y is newer than x (a higher id); when y was acknowledged
 * before pop P began and is newer than what P returned (or P returned nothing), y was committed and
 * on top when P took effect, so y must have been removed by a pop that began before P completed. A
 * pop reading a stale snapshot (a hole: an empty pop, or an older item, while y was there) breaks it.
 */
describeEachDialect(
  'popItem: the newest committed item, exactly once, under concurrent writers and poppers',
  (dialect, url) => {
    const [a, b] = useMemoryPair(dialect, url);

    it(`${2 * WRITERS} writers and ${2 * POPPERS} poppers on two instances`, async () => {
      const id = `pop-newest-${Math.random().toString(36).slice(2, 8)}`;
      const writes: Write[] = [];
      const pops: Pop[] = [];
      let next = 0;
      let writing = 2 * WRITERS;

      const writer = async (memory: typeof a.memory) => {
        for (let i = 0; i < APPENDS; i++) {
          const w: Write = { n: next++, invoked: tick() };
          writes.push(w);
          await memory.session(id).addItems([user(`i${w.n}`)]);
          w.acked = tick();
        }
        writing--;
      };
      const popper = async (memory: typeof a.memory, name: string) => {
        // Until the writers are done, then a few more (the rest stays stored, checked below).
        for (let extra = 3; writing > 0 || extra-- > 0;) {
          const invoked = tick();
          const item = await memory.session(id).popItem();
          pops.push({ popper: name, invoked, completed: tick(), got: numberOf(item) });
        }
      };
      await Promise.all([
        ...Array.from({ length: WRITERS }, () => writer(a.memory)),
        ...Array.from({ length: WRITERS }, () => writer(b.memory)),
        ...Array.from({ length: POPPERS }, (_, i) => popper(a.memory, `a${i}`)),
        ...Array.from({ length: POPPERS }, (_, i) => popper(b.memory, `b${i}`)),
      ]);
      const stored = (await a.memory.session(id).getItems()).map((item) => numberOf(item)!);

      // Exactly once: every acknowledged item popped once or stored, never both; nothing else appears.
      const popped = pops.filter((p) => p.got !== undefined).map((p) => p.got!);
      expect(new Set(popped).size).toBe(popped.length);
      expect([...popped, ...stored].sort((x, y) => x - y)).toEqual(writes.map((w) => w.n).sort((x, y) => x - y));

      // The newest: no pop passed over an item acknowledged before it began and newer than what it got.
      const byNumber = new Map(writes.map((w) => [w.n, w]));
      const popOf = new Map(pops.filter((p) => p.got !== undefined).map((p) => [p.got!, p]));
      const violations: string[] = [];
      for (const p of pops) {
        const got = p.got === undefined ? undefined : byNumber.get(p.got)!;
        for (const y of writes) {
          if (y.acked === undefined || y.acked > p.invoked) continue; // not committed for sure when p began
          if (got && !(got.acked !== undefined && got.acked < y.invoked)) continue; // not known to be newer than what p got
          const remover = popOf.get(y.n);
          if (remover && remover.invoked < p.completed) continue; // may have been removed before p took effect
          violations.push(
            `${p.popper} got ${p.got ?? 'nothing'} while i${y.n} (newer, committed) was ` +
              (remover ? `popped later by ${remover.popper}` : 'still stored'),
          );
        }
      }
      expect(violations.slice(0, 5)).toEqual([]);
      expect(popped.length).toBeGreaterThan(0);
    });
  },
);
