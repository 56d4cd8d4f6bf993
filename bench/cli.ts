import type { DataSource } from 'typeorm';

/** A `--name=value` argument, else the environment variable `BENCH_<NAME>`, else `fallback`. */
export function arg(name: string, fallback: string): string {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? found.slice(name.length + 3) : (process.env[`BENCH_${name.toUpperCase()}`] ?? fallback);
}

/** Drops a benchmark's pair of tables and the optional tables beside them, children first. */
export async function dropSessionTables(ds: DataSource, tables: { sessions: string; messages: string }): Promise<void> {
  const { sessions, messages } = tables;
  for (const t of [`${sessions}_owners`, `${messages}_operations`, `${sessions}_metadata`, messages, sessions]) {
    await ds.query(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  }
}
