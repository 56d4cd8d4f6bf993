import { spawnSync } from 'child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { SessionItem } from '../../lib';
import { rawQuery } from './memory';

/**
 * The databases written by the real Python SQLAlchemySession (see the README in that folder), kept in
 * the repository so CI has them. Never opened in place: SQLite is copied to a temp file, PostgreSQL is
 * loaded into a fresh database that is dropped afterwards.
 */
export const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'python-sqlalchemy-session');

export interface ExpectedSession {
  ids: number[];
  message_data: string[];
  items: SessionItem[];
  limit_3: SessionItem[];
}

/** `sessions_table/messages_table` → session id → what `get_items()` returned in Python. */
export const EXPECTED: Record<string, Record<string, ExpectedSession>> = JSON.parse(
  readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8'),
).tables;

/** The two table pairs of the fixtures, as `{ sessions, messages }`. */
export const TABLE_PAIRS = Object.keys(EXPECTED).map((key) => {
  const [sessions, messages] = key.split('/');
  return { key, sessions, messages };
});

/** A private copy of the fixture's sqlite.db; returns its path. */
export function copySqliteFixture(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nsm-pyfix-')), 'python.db');
  copyFileSync(join(FIXTURE_DIR, 'sqlite.db'), path);
  return path;
}

/** A fresh PostgreSQL database holding postgres.sql (loaded with psql, as the README says). */
export interface PostgresFixture {
  url: string;
  database: string;
  drop(): Promise<void>;
}

export async function loadPostgresFixture(baseUrl: string): Promise<PostgresFixture> {
  const database = `nsm_pyfix_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  const drop = async () => {
    const c = new Client({ connectionString: baseUrl });
    await c.connect();
    try {
      // Only this test's own connections can be in that database; FORCE closes any left open.
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };
  // \restrict / \unrestrict are psql meta-commands of recent minor releases; older clients reject them.
  const dump = readFileSync(join(FIXTURE_DIR, 'postgres.sql'), 'utf8').replace(/^\\(un)?restrict .*$/gm, '');
  const file = join(mkdtempSync(join(tmpdir(), 'nsm-pyfix-')), 'postgres.sql');
  writeFileSync(file, dump);
  const psql = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url.toString(), '-f', file], {
    encoding: 'utf8',
  });
  if (psql.error || psql.status !== 0) {
    await drop();
    throw new Error(
      `Loading the Python fixture with psql failed (${psql.error?.message ?? psql.stderr}). Install the PostgreSQL client (psql) to run this suite.`,
    );
  }
  return { url: url.toString(), database, drop };
}

/**
 * Copies the fixture rows (ids and stored `message_data` strings exactly as Python wrote them) into
 * other tables, through `ds`. Advances the PostgreSQL id sequence past the copied ids, as any copy must.
 */
export async function copyFixtureRows(
  ds: DataSource,
  pairKey: string,
  into: { sessions: string; messages: string },
): Promise<void> {
  for (const [sessionId, s] of Object.entries(EXPECTED[pairKey])) {
    await rawQuery(ds, `INSERT INTO ${into.sessions} (session_id) VALUES (?)`, [sessionId]);
    for (let i = 0; i < s.ids.length; i++) {
      await rawQuery(ds, `INSERT INTO ${into.messages} (id, session_id, message_data) VALUES (?, ?, ?)`, [
        s.ids[i],
        sessionId,
        s.message_data[i],
      ]);
    }
  }
  if (ds.options.type === 'postgres') {
    await ds.query(
      `SELECT setval(pg_get_serial_sequence('${into.messages}', 'id'), (SELECT MAX(id) FROM ${into.messages}))`,
    );
  }
}

/**
 * The Python class of the fixtures cannot create tables on MySQL/MariaDB. Newer releases of it can:
 * `session_id` VARCHAR(190) utf8mb4_bin, INTEGER ids, TIMESTAMP columns. This is that layout, written
 * out here by hand, so that reads, writes and the upgrade migration are tested on what a Python service
 * would have left on MariaDB.
 */
/**
 * The MySQL/MariaDB layout newer Python releases (or a DBA) create: session_id VARCHAR(190) utf8mb4_bin,
 * DATETIME columns, no index besides the keys. `run` executes one statement (e.g. a TestMemory's `sql`).
 */
export async function createBinCollationLayoutOnMysql(
  run: (sql: string) => Promise<unknown>,
  t: { sessions: string; messages: string },
): Promise<void> {
  await run(
    `CREATE TABLE ${t.sessions} (session_id VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, ` +
      `created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP) DEFAULT CHARSET=utf8mb4`,
  );
  await run(
    `CREATE TABLE ${t.messages} (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, ` +
      `session_id VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, message_data TEXT NOT NULL, ` +
      `created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
      `FOREIGN KEY (session_id) REFERENCES ${t.sessions} (session_id) ON DELETE CASCADE) DEFAULT CHARSET=utf8mb4`,
  );
}

export async function createPythonLayoutOnMysql(
  ds: DataSource,
  t: { sessions: string; messages: string },
): Promise<void> {
  await ds.query(
    `CREATE TABLE ${t.sessions} (session_id VARCHAR(190) COLLATE utf8mb4_bin NOT NULL, ` +
      `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
      `PRIMARY KEY (session_id)) DEFAULT CHARSET=utf8mb4`,
  );
  await ds.query(
    `CREATE TABLE ${t.messages} (id INTEGER NOT NULL AUTO_INCREMENT, session_id VARCHAR(190) COLLATE utf8mb4_bin NOT NULL, ` +
      `message_data TEXT NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id), ` +
      `FOREIGN KEY(session_id) REFERENCES ${t.sessions} (session_id) ON DELETE CASCADE) DEFAULT CHARSET=utf8mb4`,
  );
  await ds.query(`CREATE INDEX idx_${t.messages}_session_time ON ${t.messages} (session_id, created_at)`);
}
