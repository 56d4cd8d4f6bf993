import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

/** `npm run sample` running as its own process. */
export interface SampleProcess {
  baseUrl: string;
  port: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then its exit code (or signal). */
  stop(): Promise<number | string | null>;
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `npm run sample` with `env` (on a free PORT, an SQLite file of its own, no OpenAI key, demo
 * authentication as `npm run sample` has it), and resolves once it prints that it is listening.
 */
export async function startSampleProcess(env: Record<string, string>, ms = 60_000): Promise<SampleProcess> {
  const port = await freePort();
  const database = join(mkdtempSync(join(tmpdir(), 'nsm-sample-')), 'conversations.db');
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    SESSION_MEMORY_URL: `sqlite:${database}`,
    ...env,
  };
  delete childEnv.OPENAI_API_KEY;
  delete childEnv.SAMPLE_DEMO_AUTH; // npm run sample turns it on
  const child: ChildProcess = spawn('npm', ['run', 'sample'], {
    cwd: join(__dirname, '..', '..', '..'),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() reaches node under npm
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run sample did not start in ${ms} ms:\n${output}`)), ms);
    const check = () => {
      if (/Listening on http:\/\/localhost:\d+/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm run sample exited (${code}):\n${output}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
      return exited;
    },
  };
}
