import { Client } from 'pg';
import { createConnection } from 'mysql2/promise';
import { TEST_URLS, TestDialect } from './databases';

/**
 * Probes the PostgreSQL and MariaDB servers and the Citus coordinator once. With
 * SESSION_MEMORY_REQUIRE_ALL_DIALECTS=1 (set by .ci/run, which also starts the Citus cluster) an
 * unreachable server fails the run instead of skipping its suites.
 */
export default async function globalSetup(): Promise<void> {
  const available: string[] = [];
  const missing: string[] = [];
  const probes: [string, () => Promise<void>][] = [
    [
      'postgres',
      async () => {
        const c = new Client({ connectionString: TEST_URLS.postgres, connectionTimeoutMillis: 3000 });
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
      },
    ],
    [
      'citus',
      async () => {
        const c = new Client({ connectionString: TEST_URLS.citus, connectionTimeoutMillis: 3000 });
        await c.connect();
        try {
          const { rows } = await c.query(
            `SELECT count(*)::int AS workers FROM pg_extension e, citus_get_active_worker_nodes() WHERE e.extname = 'citus'`,
          );
          if (rows[0].workers < 2)
            throw new Error(`a Citus coordinator with 2 active workers expected, found ${rows[0].workers}`);
        } catch (err) {
          throw new Error(`not a Citus coordinator with workers (${(err as Error).message})`);
        } finally {
          await c.end();
        }
      },
    ],
    [
      'mariadb',
      async () => {
        const c = await createConnection({ uri: TEST_URLS.mariadb, connectTimeout: 3000 });
        await c.query('SELECT 1');
        await c.end();
      },
    ],
  ];
  for (const [name, probe] of probes) {
    try {
      await probe();
      available.push(name);
    } catch (err) {
      missing.push(`${name} (${TEST_URLS[name as TestDialect]}): ${(err as Error).message}`);
    }
  }
  process.env.SESSION_MEMORY_TEST_AVAILABLE = available.join(',');
  if (missing.length > 0) {
    const help =
      'Start the server(s), or point SESSION_MEMORY_TEST_POSTGRES_URL / SESSION_MEMORY_TEST_MYSQL_URL at one (see README "Running the tests"). ' +
      'Citus: ../shared/citus/install.sh && ../shared/citus/cluster.sh start 5441, or SESSION_MEMORY_TEST_CITUS_URL (docs/citus.md).';
    if (process.env.SESSION_MEMORY_REQUIRE_ALL_DIALECTS === '1') {
      throw new Error(
        `SESSION_MEMORY_REQUIRE_ALL_DIALECTS=1 but these databases are unreachable:\n  ${missing.join('\n  ')}\n${help}`,
      );
    }

    console.warn(
      `\n[nestjs-session-memory] Skipping the suites of unreachable databases:\n  ${missing.join('\n  ')}\n${help}\n`,
    );
  }
}
