/**
 * Benchmarks of ConversationSession against the bare driver ("floor") on the same tables.
 *
 *   npm run bench                                   # everything (about 10 minutes)
 *   npm run bench -- --dialects=postgres --workloads=add1,get20_1m --duration=2000 --big=100000
 *
 * Options (`--name=value`, or the environment variable BENCH_<NAME>):
 *   dialects     postgres,sqlite,mariadb            which databases; also citus (a Citus coordinator, see docs/citus.md)
 *   workloads    add1,add10,get20_10k,get20_1m,getall_200,getall_2000,pop   (getall_2000: 2,000 items of 1 KB)
 *                also pop_correct: popItem against the floor with its guarantee (pop: the single-statement floor),
 *                pop_script: the same floor as a script of inlined values (PostgreSQL, Citus)
 *   concurrency  1,16                               callers in flight at once
 *   duration     4000                               ms measured per side, per workload and concurrency
 *   warmup       600                                ms of warm-up per side before measuring
 *   segment      500                                ms per measured slice (the sides alternate slice by slice)
 *   pool         10                                 connection pool size (ours and the floor alike)
 *   big          1000000                            items in the large conversation of get20_1m
 *   perConversation (module default, 4)            our limits.maxConcurrentPerConversation (the reads send every caller to one conversation)
 *   out          (none)                             also write the report (markdown) and raw results (JSON) here
 * Checks of the harness itself (environment only): BENCH_FEED_FLOOR_FIRST=1 loads the floor's pop
 * conversations first, BENCH_SWAP_POP=1 swaps which side pops which conversations.
 *
 * The two sides alternate in short slices (ours, floor, floor, ours, ours, floor, ...), so that load
 * from other processes on a shared machine hits both alike; the report gives the ratio of the totals
 * and the median of the per-pair ratios. Tables get unique names and are dropped at the end.
 */
import { writeFileSync } from 'fs';
import { loadavg } from 'os';
import { performance } from 'perf_hooks';
import { makeItemPool, sizeRange, sizedItemTemplates } from './items';
import { LatencyRecorder, mergedPercentiles } from './stats';
import {
  Impl,
  Target,
  citusTarget,
  mariadbTarget,
  postgresTarget,
  setPerConversationLimit,
  sqliteTarget,
} from './targets';
import { TEST_URLS, TestDialect } from '../test/support/databases';
import { arg, runMain } from './cli';

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const config = {
  dialects: list(arg('dialects', 'postgres,sqlite,mariadb')) as TestDialect[],
  workloads: list(arg('workloads', 'add1,add10,get20_10k,get20_1m,getall_200,getall_2000,pop')),
  concurrency: list(arg('concurrency', '1,16')).map(Number),
  duration: Number(arg('duration', '4000')),
  warmup: Number(arg('warmup', '600')),
  segment: Number(arg('segment', '500')),
  pool: Number(arg('pool', '10')),
  big: Number(arg('big', '1000000')),
  perConversation: arg('perConversation', ''),
  out: arg('out', ''),
};

const WRITE_CONVERSATIONS = 1000;
const ITEMS = makeItemPool(500);
let itemCursor = 0;
const nextItems = (n: number) => {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = ITEMS[itemCursor++ % ITEMS.length];
  return out;
};
const pick = () => (Math.random() * WRITE_CONVERSATIONS) | 0;
const popPrefix = (tag: 'ours' | 'floor') => (process.env.BENCH_SWAP_POP ? (tag === 'ours' ? 'floor' : 'ours') : tag);

interface Workload {
  name: string;
  title: string;
  op(impl: Impl): Promise<unknown>;
  /** Checks one result of each side, before timing, so a broken floor cannot win. */
  expect?(result: unknown): string | undefined;
}

const countIs = (n: number) => (r: unknown) =>
  Array.isArray(r) && r.length === n ? undefined : `expected ${n} items, got ${Array.isArray(r) ? r.length : typeof r}`;

const WORKLOADS: Workload[] = [
  { name: 'add1', title: 'addItems(1 item)', op: (impl) => impl.add(`w_${impl.tag}_${pick()}`, nextItems(1)) },
  { name: 'add10', title: 'addItems(10 items)', op: (impl) => impl.add(`w_${impl.tag}_${pick()}`, nextItems(10)) },
  { name: 'get20_10k', title: 'getItems(20) of 10,000', op: (impl) => impl.get('r10k_0', 20), expect: countIs(20) },
  { name: 'get20_1m', title: 'getItems(20) of BIG', op: (impl) => impl.get('rbig_0', 20), expect: countIs(20) },
  { name: 'getall_200', title: 'getItems() of 200', op: (impl) => impl.get('r200_0'), expect: countIs(200) },
  {
    name: 'getall_2000',
    title: 'getItems() of 2,000 (1 KB each)',
    op: (impl) => impl.get('r2000_0'),
    expect: countIs(2000),
  },
  {
    name: 'pop',
    title: 'popItem()',
    op: (impl) => impl.pop(`p_${popPrefix(impl.tag)}_${pick()}`),
    expect: (r) => (r && typeof r === 'object' ? undefined : `expected an item, got ${String(r)}`),
  },
  {
    // The floor with popItem's guarantee (`popCorrect`; SQLite's one statement already has it).
    name: 'pop_correct',
    title: 'popItem() vs the correct floor',
    op: (impl) => (impl.popCorrect ?? impl.pop).call(impl, `p_${popPrefix(impl.tag)}_${pick()}`),
    expect: (r) => (r && typeof r === 'object' ? undefined : `expected an item, got ${String(r)}`),
  },
  {
    // PostgreSQL and Citus: the correct floor as a script of inlined values (other dialects: pop_correct's).
    name: 'pop_script',
    title: 'popItem() vs the correct floor as a script',
    op: (impl) => (impl.popScript ?? impl.popCorrect ?? impl.pop).call(impl, `p_${popPrefix(impl.tag)}_${pick()}`),
    expect: (r) => (r && typeof r === 'object' ? undefined : `expected an item, got ${String(r)}`),
  },
];

interface Side {
  ops: number;
  seconds: number;
  samples: Float64Array[];
  empties: number;
  /** ops/s of each slice, in order. */
  rates: number[];
  /** CPU time of this process (user + system), microseconds. */
  cpuMicros: number;
}

interface Result {
  dialect: TestDialect;
  workload: string;
  title: string;
  concurrency: number;
  ours: { opsPerSec: number; p50: number; p99: number; empties: number; cpuMicrosPerOp: number };
  floor: { opsPerSec: number; p50: number; p99: number; empties: number; cpuMicrosPerOp: number };
  ratio: number;
  /** Median over slice pairs of ours/floor (robust to bursts of load from other processes). */
  medianPairRatio: number;
}

interface MemoryPoint {
  dialect: string;
  after: string;
  rssMb: number;
  heapUsedMb: number;
  /** Highest RSS sampled (every 50 ms) while this workload ran. */
  peakRssMb?: number;
}

/** Samples RSS every 50 ms, so the report can give the peak of each workload (not of start-up and compilation). */
class RssSampler {
  peak = 0;
  private readonly timer = setInterval(() => this.sample(), 50);
  constructor() {
    this.timer.unref();
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  /** Returns the peak since the last call and starts a new window. */
  take(): number {
    this.sample();
    const p = this.peak;
    this.peak = 0;
    return p;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}
const rss = new RssSampler();

const recorder = new LatencyRecorder();
const loads: Record<string, number[]> = {};

/** Runs `op` with `concurrency` closed-loop callers for `ms`; returns ops, seconds, latencies and empty pops. */
async function measure(
  impl: Impl,
  w: Workload,
  concurrency: number,
  ms: number,
  side: Side | undefined,
): Promise<void> {
  recorder.reset();
  let empties = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  const caller = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const r = await w.op(impl);
      recorder.record(performance.now() - t0);
      if (r === undefined && w.name.startsWith('pop')) empties++;
    }
  };
  const callers = [];
  for (let i = 0; i < concurrency; i++) callers.push(caller());
  await Promise.all(callers);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (side) {
    side.cpuMicros += used.user + used.system;
    side.ops += recorder.ops;
    side.seconds += seconds;
    side.samples.push(recorder.snapshot());
    side.empties += empties;
    side.rates.push(recorder.ops / seconds);
  }
}

/** Keeps enough items in the pop conversations of one side for the next `ms` of popping. */
class PopFeeder {
  private remaining = { ours: 0, floor: 0 };
  private rate = { ours: 0, floor: 0 };
  constructor(private readonly target: Target) {}
  async before(tag: 'ours' | 'floor', ms: number): Promise<void> {
    const rate = this.rate[tag] || (this.target.dialect === 'sqlite' ? 60_000 : 8_000);
    const needed = Math.ceil(rate * (ms / 1000) * 2) + 30 * WRITE_CONVERSATIONS;
    if (this.remaining[tag] >= needed) return;
    const perConv = Math.ceil((needed - this.remaining[tag]) / WRITE_CONVERSATIONS);
    await this.target.bulkLoad(`p_${popPrefix(tag)}`, WRITE_CONVERSATIONS, perConv);
    this.remaining[tag] += perConv * WRITE_CONVERSATIONS;
  }
  after(tag: 'ours' | 'floor', ops: number, empties: number, seconds: number): void {
    this.remaining[tag] -= ops - empties;
    this.rate[tag] = Math.max(this.rate[tag], ops / seconds);
  }
}

const feedOrder = (t: Target): Impl[] => (process.env.BENCH_FEED_FLOOR_FIRST ? [t.floor, t.ours] : [t.ours, t.floor]);

function gc(): void {
  (global as { gc?: () => void }).gc?.();
}

function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

async function benchDialect(
  dialect: TestDialect,
  results: Result[],
  memory: MemoryPoint[],
  versions: Record<string, string>,
): Promise<void> {
  const log = (s: string) => console.error(`[${dialect}] ${s}`);
  const target =
    dialect === 'postgres'
      ? await postgresTarget(TEST_URLS.postgres, config.pool)
      : dialect === 'mariadb'
        ? await mariadbTarget(TEST_URLS.mariadb, config.pool)
        : dialect === 'citus'
          ? await citusTarget(TEST_URLS.citus, config.pool)
          : await sqliteTarget();
  try {
    versions[dialect] = await target.version();
    const t0 = performance.now();
    if (config.workloads.includes('get20_10k')) await target.bulkLoad('r10k', 1, 10_000);
    if (config.workloads.includes('get20_1m')) await target.bulkLoad('rbig', 1, config.big);
    if (config.workloads.includes('getall_200')) await target.bulkLoad('r200', 1, 200);
    if (config.workloads.includes('getall_2000')) await target.bulkLoad('r2000', 1, 2000, sizedItemTemplates(1024));
    // The write workloads' conversations exist before the statistics are taken, as in a table in service. PostgreSQL
    // caches each connection's foreign-key check (messages -> sessions, one per inserted row) as a generic plan made
    // when that connection first inserts; against a sessions table that ANALYZE found empty (or of a few fixture
    // rows) that plan is a sequential scan, kept until the table is analyzed or vacuumed again, i.e. for the whole
    // run. Whichever side's connections inserted first while the table was tiny then paid ten scans of a growing
    // table per addItems(10): ours at 0.55-0.58 of the floor (pg_stat_user_tables: about ten seq_scan per call).
    if (config.workloads.some((w) => w.startsWith('add')))
      for (const tag of ['ours', 'floor']) await target.bulkLoad(`w_${tag}`, WRITE_CONVERSATIONS, 0);
    await target.analyze();
    log(`loaded fixtures in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const feeder = new PopFeeder(target);
    gc();
    loads[dialect] = [loadavg()[0]];
    memory.push({
      dialect,
      after: 'load',
      rssMb: mb(process.memoryUsage().rss),
      heapUsedMb: mb(process.memoryUsage().heapUsed),
    });

    rss.take();
    for (const w of WORKLOADS.filter((x) => config.workloads.includes(x.name))) {
      // Both sides must return the same thing before either is timed.
      if (w.name.startsWith('pop')) for (const impl of feedOrder(target)) await feeder.before(impl.tag, 0);
      for (const impl of [target.ours, target.floor]) {
        const problem = w.expect?.(await w.op(impl));
        if (problem) throw new Error(`${dialect} ${w.name} ${impl.tag}: ${problem}`);
      }
      for (const concurrency of config.concurrency) {
        const sides: Record<'ours' | 'floor', Side> = {
          ours: { ops: 0, seconds: 0, samples: [], empties: 0, rates: [], cpuMicros: 0 },
          floor: { ops: 0, seconds: 0, samples: [], empties: 0, rates: [], cpuMicros: 0 },
        };
        const slices = Math.max(1, Math.round(config.duration / config.segment));
        const slice = config.duration / slices;
        const order: Impl[] = [];
        for (let i = 0; i < slices; i++)
          order.push(...(i % 2 === 0 ? [target.ours, target.floor] : [target.floor, target.ours]));
        for (const impl of [target.ours, target.floor]) {
          if (w.name.startsWith('pop')) await feeder.before(impl.tag, config.warmup);
          await measure(impl, w, concurrency, config.warmup, undefined);
          if (w.name.startsWith('pop')) feeder.after(impl.tag, recorder.ops, 0, config.warmup / 1000);
        }
        if (w.name.startsWith('pop'))
          for (const impl of feedOrder(target)) await feeder.before(impl.tag, config.duration);
        for (const impl of order) {
          if (w.name.startsWith('pop')) await feeder.before(impl.tag, slice);
          const side = sides[impl.tag];
          const before = { ops: side.ops, empties: side.empties, seconds: side.seconds };
          await measure(impl, w, concurrency, slice, side);
          if (w.name.startsWith('pop'))
            feeder.after(impl.tag, side.ops - before.ops, side.empties - before.empties, side.seconds - before.seconds);
        }
        const summarise = (s: Side) => {
          const [p50, p99] = mergedPercentiles(s.samples, 50, 99);
          return { opsPerSec: s.ops / s.seconds, p50, p99, empties: s.empties, cpuMicrosPerOp: s.cpuMicros / s.ops };
        };
        const r: Result = {
          dialect,
          workload: w.name,
          title: w.title.replace('BIG', config.big.toLocaleString('en-US')),
          concurrency,
          ours: summarise(sides.ours),
          floor: summarise(sides.floor),
          ratio: sides.ours.ops / sides.ours.seconds / (sides.floor.ops / sides.floor.seconds),
          medianPairRatio: median(sides.ours.rates.map((r, i) => r / sides.floor.rates[i])),
        };
        results.push(r);
        log(
          `${w.name.padEnd(10)} c=${String(concurrency).padEnd(2)} ours ${r.ours.opsPerSec.toFixed(0).padStart(7)} ops/s ` +
            `p50 ${r.ours.p50.toFixed(3)} p99 ${r.ours.p99.toFixed(3)} | floor ${r.floor.opsPerSec.toFixed(0).padStart(7)} ops/s ` +
            `p50 ${r.floor.p50.toFixed(3)} p99 ${r.floor.p99.toFixed(3)} | ratio ${r.ratio.toFixed(3)} (median pair ${r.medianPairRatio.toFixed(3)}) | CPU us/op ours ${r.ours.cpuMicrosPerOp.toFixed(0)} floor ${r.floor.cpuMicrosPerOp.toFixed(0)}` +
            (r.ours.empties || r.floor.empties
              ? ` (empty pops: ours ${r.ours.empties}, floor ${r.floor.empties})`
              : ''),
        );
      }
      gc();
      const peakRssMb = mb(rss.take());
      memory.push({
        dialect,
        after: w.name,
        rssMb: mb(process.memoryUsage().rss),
        heapUsedMb: mb(process.memoryUsage().heapUsed),
        peakRssMb,
      });
    }
    loads[dialect].push(loadavg()[0]);
  } finally {
    await target.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function report(results: Result[], memory: MemoryPoint[], versions: Record<string, string>, peakRssMb: number): string {
  const lines: string[] = [];
  lines.push(
    `Run ${new Date().toISOString()}, node ${process.version}, pool ${config.pool}, ${config.duration} ms per side per row (after ${config.warmup} ms warm-up)` +
      `${config.perConversation ? `, ours with limits.maxConcurrentPerConversation ${config.perConversation}` : ''}.`,
  );
  lines.push(
    `1-minute load average at start / end of each dialect (2 cores, shared): ${Object.entries(loads)
      .map(([d, l]) => `${d} ${l.map((x) => x.toFixed(1)).join(' / ')}`)
      .join(', ')}.`,
  );
  lines.push(
    `Databases: ${Object.entries(versions)
      .map(([d, v]) => `${d} ${v}`)
      .join(', ')}.`,
  );
  const size = sizeRange(ITEMS);
  lines.push(
    `Items: ${ITEMS.length} Agents-SDK-shaped items, ${size.min}-${size.max} bytes of JSON (mean ${size.mean}).`,
  );
  lines.push('');
  lines.push(
    '| dialect | workload | conc | ours ops/s | ours p50 ms | ours p99 ms | floor ops/s | floor p50 ms | floor p99 ms | ours/floor | median pair | CPU µs/op ours / floor |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    lines.push(
      `| ${r.dialect} | ${r.title} | ${r.concurrency} | ${r.ours.opsPerSec.toFixed(0)} | ${fmt(r.ours.p50, 3)} | ${fmt(r.ours.p99, 3)} | ` +
        `${r.floor.opsPerSec.toFixed(0)} | ${fmt(r.floor.p50, 3)} | ${fmt(r.floor.p99, 3)} | **${fmt(r.ratio)}** | ${fmt(r.medianPairRatio)} | ${r.ours.cpuMicrosPerOp.toFixed(0)} / ${r.floor.cpuMicrosPerOp.toFixed(0)} |`,
    );
  }
  const empties = results.filter((r) => r.ours.empties || r.floor.empties);
  if (empties.length)
    lines.push(
      '',
      `Warning: some pops found an empty conversation: ${empties.map((r) => `${r.dialect} c=${r.concurrency}`).join(', ')}.`,
    );
  lines.push('');
  lines.push('History length (getItems(20) at the large conversation vs at 10,000 items, ours):');
  for (const d of new Set(results.map((r) => r.dialect))) {
    for (const c of config.concurrency) {
      const small = results.find((r) => r.dialect === d && r.workload === 'get20_10k' && r.concurrency === c);
      const big = results.find((r) => r.dialect === d && r.workload === 'get20_1m' && r.concurrency === c);
      if (small && big) {
        lines.push(
          `- ${d} c=${c}: time per op x${fmt(small.ours.opsPerSec / big.ours.opsPerSec)} (ops/s ${small.ours.opsPerSec.toFixed(0)} -> ${big.ours.opsPerSec.toFixed(0)}), ` +
            `p50 x${fmt(big.ours.p50 / small.ours.p50)}`,
        );
      }
    }
  }
  lines.push('');
  lines.push(
    `Memory (after a forced GC at the end of each workload; peak RSS of the whole process, start-up and ts-node compilation included: ${peakRssMb.toFixed(0)} MB):`,
  );
  lines.push('');
  lines.push('| dialect | after | RSS MB | heap used MB | peak RSS MB during the workload |');
  lines.push('|---|---|---:|---:|---:|');
  for (const m of memory)
    lines.push(`| ${m.dialect} | ${m.after} | ${m.rssMb} | ${m.heapUsedMb} | ${m.peakRssMb ?? '-'} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';
  const results: Result[] = [];
  const memory: MemoryPoint[] = [];
  const versions: Record<string, string> = {};
  gc();
  memory.push({
    dialect: '-',
    after: 'start',
    rssMb: mb(process.memoryUsage().rss),
    heapUsedMb: mb(process.memoryUsage().heapUsed),
  });
  setPerConversationLimit(config.perConversation ? Number(config.perConversation) : undefined);
  for (const dialect of config.dialects) await benchDialect(dialect, results, memory, versions);
  rss.stop();
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const text = report(results, memory, versions, peakRssMb);
  console.log(text);
  if (config.out) {
    writeFileSync(`${config.out}.md`, text + '\n');
    writeFileSync(
      `${config.out}.json`,
      JSON.stringify({ config, versions, loads, results, memory, peakRssMb }, null, 2),
    );
  }
}

runMain(main);
