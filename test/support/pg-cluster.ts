import { execFileSync } from 'child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';

/**
 * A private, throw-away PostgreSQL cluster for fault-injection tests: created with `initdb` in a temp
 * directory, listening on a free loopback port, stopped and started at will with `pg_ctl`. It never
 * touches the shared server on 5432. When the tests run as root, the cluster runs as the `postgres`
 * user (PostgreSQL refuses to run as root), in a temp directory that user owns.
 */
export class PgCluster {
  private constructor(
    readonly binDir: string,
    readonly dir: string,
    readonly port: number,
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** The directory of `initdb`/`pg_ctl`, or undefined when no PostgreSQL server binaries are installed. */
  static findBinDir(): string | undefined {
    const root = '/usr/lib/postgresql';
    if (process.env.SESSION_MEMORY_TEST_PG_BIN) return process.env.SESSION_MEMORY_TEST_PG_BIN;
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    return versions.length ? join(root, versions[0], 'bin') : undefined;
  }

  /** Creates and starts a cluster. Throws when PostgreSQL's server binaries are not installed. */
  static async create(): Promise<PgCluster> {
    const binDir = PgCluster.findBinDir();
    if (!binDir)
      throw new Error(
        'No PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin; set SESSION_MEMORY_TEST_PG_BIN.',
      );
    const dir = mkdtempSync(join(tmpdir(), 'nsm-pg-'));
    let runAs: { uid: number; gid: number } | undefined;
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
      chmodSync(dir, 0o700);
      runAs = { uid, gid };
    }
    const cluster = new PgCluster(binDir, dir, await freePort(), runAs);
    cluster.exec('initdb', [
      '-D',
      cluster.dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    await cluster.start();
    return cluster;
  }

  private exec(tool: string, args: string[]): string {
    const bin = join(this.binDir, tool);
    const [file, argv] = this.runAs ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    return execFileSync(file, argv, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-c listen_addresses=127.0.0.1`,
      `-c unix_socket_directories=${this.dir}`,
      `-c fsync=off`,
      `-c max_connections=60`,
      `-c shared_buffers=16MB`,
    ].join(' ');
    this.exec('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '30',
      'start',
    ]);
  }

  /** Stops the server (`fast`: terminates sessions, rolls back open transactions). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.exec('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
  }

  /** Runs one query on a fresh connection of its own. */
  async query<T = any>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Terminates every backend of this cluster but the caller's, optionally only those of one application_name. */
  async terminateBackends(applicationName?: string): Promise<number> {
    const rows = await this.query<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND ($1::text IS NULL OR application_name = $1)`,
      [applicationName ?? null],
    );
    return rows.length;
  }

  /** Stops the server (if running) and deletes the directory. */
  async destroy(): Promise<void> {
    try {
      this.exec('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
