import { spawn } from 'child_process';
import { join } from 'path';
import { clientQueryTimeoutMs } from '../../lib/options/session-memory-options.resolver';
import { describeEachDialect, TestDialect } from '../support/databases';
import { startMemory, TestMemory } from '../support/memory';
import type { StallChildConfig, StallChildResult } from './shutdown-stall.child';

/** Short limits, so that every driver timer of a call caught by the stall fires within seconds. */
const TIMEOUTS = { statementMs: 1000, connectMs: 1000 };
/** When the client-side query timeout of a query sent as the stall began fires (2 s here). */
const QUERY_TIMER_MS = clientQueryTimeoutMs(TIMEOUTS);

interface ChildRun {
  code: number | null;
  stderr: string;
  result?: StallChildResult;
}

/** Runs shutdown-stall.child.ts (through ts-node) and collects its exit code, stderr and RESULT line. */
function runChild(config: StallChildConfig): Promise<ChildRun> {
  const root = join(__dirname, '..', '..');
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(__dirname, 'shutdown-stall.child.ts'), JSON.stringify(config)],
    {
      cwd: root,
      env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({
        code,
        stderr,
        result: line ? (JSON.parse(line.slice('RESULT '.length)) as StallChildResult) : undefined,
      });
    }),
  );
}

/**
 * Shutting down during a network stall (a TCP proxy that stops forwarding: no answer, no reset), in a
 * child process so that an error reaching `uncaughtException` / `unhandledRejection` is seen (it
 * would end a real application). Health checks give up on their pings after 200 ms; then
 * `app.close()`; then the child stays alive past the client-side query timeout (statementMs +
 * connectMs) and the connect timeout of everything the stall caught, and the proxy finally resets
 * the sockets it held. Nothing of the module's connections may reach the process, `app.close()`
 * must not reject with a driver error, and it must not wait for the pings it gave up on.
 *
 * Before the fix (MariaDB): app.close() waited for the abandoned pings' query timer and then rejected
 * with mysql2's raw PROTOCOL_SEQUENCE_TIMEOUT (`connect ETIMEDOUT` for pings still connecting) —
 * with the default limits 35 s after they started, which under Nest's shutdown hooks ends the process.
 */
describeEachDialect(
  'shutdown during a network stall',
  (dialect: TestDialect, url) => {
    let memory: TestMemory;
    beforeAll(async () => {
      memory = await startMemory(url); // creates the tables the child uses, drops them afterwards
    }, 30_000);
    afterAll(() => memory.close());

    const run = (mode: StallChildConfig['mode'], warmChecks: number) =>
      runChild({
        url,
        tables: memory.tables,
        timeouts: TIMEOUTS,
        mode,
        warmChecks,
        waitAfterFreezeMs: QUERY_TIMER_MS + 1000,
      });

    it('pings given up on pooled connections: close() does not wait for them, nothing reaches the process', async () => {
      const { code, stderr, result } = await run('pings', 3);
      expect(stderr).toBe('');
      expect(result).toMatchObject({
        healthBefore: ['up', 'up', 'up'],
        healthDuring: ['down', 'down', 'down'],
        uncaught: [],
      });
      expect(result!.closeError).toBeUndefined();
      // A hang detector, not a speed figure: the abandoned pings' query timer fires about 1.8 s after
      // close() starts; without the fix close() waited for it (with the default limits: 35 s).
      expect(result!.closeMs).toBeLessThan(QUERY_TIMER_MS / 2);
      expect(code).toBe(0);
    }, 30_000);

    it('a read in flight and pings still connecting: the read fails typed, close() resolves, nothing reaches the process', async () => {
      const { code, stderr, result } = await run('operation', 1);
      expect(stderr).toBe('');
      expect(result).toMatchObject({
        healthBefore: ['up'],
        healthDuring: ['down', 'down', 'down'],
        operation: 'SessionStorageUnavailableError SESSION_MEMORY_STORAGE_UNAVAILABLE',
        uncaught: [],
      });
      expect(result!.closeError).toBeUndefined();
      expect(code).toBe(0);
    }, 30_000);
  },
  ['postgres', 'mariadb', 'citus'],
);
