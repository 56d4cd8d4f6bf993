/**
 * What the largest item and the largest batch the default limits accept cost, per dialect: time of
 * addItems / getItems / popItem, and the process's peak memory above its idle level.
 *
 *   npm run bench:big                      # sqlite, postgres, mariadb
 *   npm run bench:big -- --dialects=sqlite
 *
 * Each case runs in a child process of its own, so that its peak RSS (`maxRSS`) is its own. Items are
 * function_call_result items whose output text is base64-like (as a screenshot is); on MariaDB the
 * item is as large as the server's `max_allowed_packet` lets one statement be.
 */
import 'reflect-metadata';
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { DEFAULT_ITEM_LIMITS } from '../lib';
import { TEST_URLS, TestDialect } from '../test/support/databases';
import { uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';

const MiB = 1024 * 1024;
type Case = 'item' | 'batch';

/** A function_call_result whose JSON is `bytes` long. */
function item(callId: string, bytes: number): Record<string, unknown> {
  const base = {
    type: 'function_call_result',
    callId,
    name: 'screenshot',
    status: 'completed',
    output: { type: 'text', text: '' },
  };
  const overhead = JSON.stringify(base).length;
  const unit = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB';
  const text = unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes - overhead);
  return { ...base, output: { type: 'text', text } };
}

async function child(dialect: TestDialect, which: Case): Promise<void> {
  const dir = dialect === 'sqlite' ? mkdtempSync(join(tmpdir(), 'nsm-big-')) : undefined;
  const url = dir ? `sqlite:${join(dir, 'big.db')}` : TEST_URLS[dialect];
  const tables = uniqueTables('big');
  const { app, memory } = await startApp({ url, createTables: true, tables });
  let itemBytes = DEFAULT_ITEM_LIMITS.maxItemBytes;
  if (dialect === 'mariadb') {
    const [{ n }] = await memory.dataSource.query('SELECT @@max_allowed_packet AS n');
    itemBytes = Math.min(itemBytes, Number(n) - 64 * 1024); // room for the statement around the value
  }
  const count = which === 'item' ? 1 : Math.floor(DEFAULT_ITEM_LIMITS.maxBatchBytes / itemBytes);
  const items = Array.from({ length: count }, (_, i) => item(`c${i}`, itemBytes));
  const session = memory.session(`big-${which}`);
  global.gc?.();
  const idle = process.memoryUsage().rss;
  const t0 = performance.now();
  await session.addItems(items as never);
  const t1 = performance.now();
  const read = await session.getItems();
  const t2 = performance.now();
  if (read.length !== count) throw new Error(`read ${read.length} items, wrote ${count}`);
  await session.popItem();
  const t3 = performance.now();
  const peak = process.resourceUsage().maxRSS * 1024;
  await stopApp({ app, memory }, tables);
  if (dir) rmSync(dir, { recursive: true, force: true });
  const jsonBytes = items.reduce((sum, i) => sum + Buffer.byteLength(JSON.stringify(i)), 0);
  process.stdout.write(
    JSON.stringify({
      dialect,
      which,
      count,
      jsonMiB: jsonBytes / MiB,
      addMs: t1 - t0,
      getMs: t2 - t1,
      popMs: t3 - t2,
      peakAboveIdleMiB: (peak - idle) / MiB,
    }) + '\n',
  );
}

function main(): void {
  const dialects = arg('dialects', 'sqlite,postgres,mariadb').split(',') as TestDialect[];
  const rows: string[] = [];
  for (const dialect of dialects) {
    for (const which of ['item', 'batch'] as Case[]) {
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '-r', 'ts-node/register/transpile-only', __filename, `--child=${dialect}:${which}`],
        { encoding: 'utf8', maxBuffer: 16 * MiB },
      );
      const r = JSON.parse(out.trim().split('\n').pop()!);
      const f = (x: number) => x.toFixed(0);
      rows.push(
        `| ${r.dialect} | ${r.which === 'item' ? 'largest item' : 'largest batch'} | ${r.count} × ${(r.jsonMiB / r.count).toFixed(1)} MiB | ` +
          `${f(r.addMs)} | ${f(r.getMs)} | ${f(r.popMs)} | ${f(r.peakAboveIdleMiB)} |`,
      );
    }
  }
  console.log(
    '| dialect | case | items × JSON size | addItems ms | getItems() ms | popItem ms | peak RSS above idle, MiB |',
  );
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

const childArg = process.argv.find((a) => a.startsWith('--child='));
if (childArg) {
  const [dialect, which] = childArg.slice('--child='.length).split(':') as [TestDialect, Case];
  runMain(() => child(dialect, which));
} else {
  main();
}
