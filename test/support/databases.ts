/**
 * The databases the dialect suites run against. PostgreSQL and MariaDB default to the local servers
 * of the development machines; `citus` is the coordinator of a Citus cluster (distributed PostgreSQL:
 * `../shared/citus/cluster.sh start 5441` starts one on this machine, `.ci/run` does it in CI); override
 * with the environment variables below.
 */
export type TestDialect = 'sqlite' | 'postgres' | 'mariadb' | 'citus';

export const TEST_URLS: Record<TestDialect, string> = {
  sqlite: 'sqlite::memory:',
  postgres: process.env.SESSION_MEMORY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mariadb: process.env.SESSION_MEMORY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  citus: process.env.SESSION_MEMORY_TEST_CITUS_URL ?? 'postgres://postgres@127.0.0.1:5441/postgres',
};

/** Every dialect: the three single-server ones and Citus (PostgreSQL sharded over workers). */
export const ALL_DIALECTS: TestDialect[] = ['sqlite', 'postgres', 'mariadb', 'citus'];

/** The dialects with one server: for suites about what only a single server has (Python layouts, index plans). */
export const SINGLE_SERVER_DIALECTS: TestDialect[] = ['sqlite', 'postgres', 'mariadb'];

/** Whether the dialect speaks PostgreSQL (plain, or a Citus coordinator). */
export const isPostgresFamily = (dialect: TestDialect): dialect is 'postgres' | 'citus' =>
  dialect === 'postgres' || dialect === 'citus';

const SKIP_REASON: Record<TestDialect, string> = {
  sqlite: 'see README "Running the tests"',
  postgres: 'server not reachable, see README "Running the tests"',
  mariadb: 'server not reachable, see README "Running the tests"',
  citus:
    'no Citus coordinator answers: run ../shared/citus/install.sh && ../shared/citus/cluster.sh start 5441, or set SESSION_MEMORY_TEST_CITUS_URL (docs/citus.md)',
};

/** Set by global-setup: which server dialects answered. */
export function isAvailable(dialect: TestDialect): boolean {
  if (dialect === 'sqlite') return true;
  return (process.env.SESSION_MEMORY_TEST_AVAILABLE ?? '').split(',').includes(dialect);
}

/**
 * `describe` once per dialect. A dialect whose server is not reachable is skipped with a note saying
 * how to enable it; global-setup has already failed the run if SESSION_MEMORY_REQUIRE_ALL_DIALECTS=1.
 */
export function describeEachDialect(
  title: string,
  fn: (dialect: TestDialect, url: string) => void,
  dialects: TestDialect[] = ALL_DIALECTS,
): void {
  for (const dialect of dialects) {
    if (isAvailable(dialect)) describe(`${title} [${dialect}]`, () => fn(dialect, TEST_URLS[dialect]));
    else
      describe.skip(`${title} [${dialect}: SKIPPED, ${SKIP_REASON[dialect]}]`, () => fn(dialect, TEST_URLS[dialect]));
  }
}

/** A table-name suffix unique to this test run and file, so suites never see each other's rows. */
export function uniqueSuffix(): string {
  return `${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
