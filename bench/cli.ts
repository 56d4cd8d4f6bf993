/** A `--name=value` argument, else the environment variable `BENCH_<NAME>`, else `fallback`. */
export function arg(name: string, fallback: string): string {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? found.slice(name.length + 3) : (process.env[`BENCH_${name.toUpperCase()}`] ?? fallback);
}

/** Runs a benchmark's `main`; on failure prints the error and exits with status 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
