import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { TestDialect } from './databases';

/**
 * Opens a transaction on a connection of its own that holds one conversation's session row
 * (`SELECT ... FOR UPDATE`), as a stuck client elsewhere would; returns its release (rollback, close).
 * `postgres` uses `pg`, the other dialects `mysql2`.
 */
export async function holdSessionRow(
  dialect: TestDialect,
  url: string,
  table: string,
  conversationId: string,
): Promise<() => Promise<void>> {
  if (dialect === 'postgres') {
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query('BEGIN');
    await c.query(`SELECT 1 FROM ${table} WHERE session_id = $1 FOR UPDATE`, [conversationId]);
    return async () => {
      await c.query('ROLLBACK');
      await c.end();
    };
  }
  const c = await createConnection(url);
  await c.query('BEGIN');
  await c.query(`SELECT 1 FROM ${table} WHERE session_id = ? FOR UPDATE`, [conversationId]);
  return async () => {
    await c.query('ROLLBACK');
    await c.end();
  };
}
