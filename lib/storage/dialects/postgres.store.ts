import { createHash } from 'crypto';
import type { ResolvedTables, StoredRow } from '../session-store';
import { NEWEST_FIRST, SessionSchemaDdl, SqlStoreBase, oneSession, portableCoreDdl, schemaNames } from './sql-store.base';

const quotePostgres = (id: string) => `"${id}"`;

/**
 * PostgreSQL DDL for one pair of tables: the Python SQLAlchemySession layout, with a 64-bit id and
 * the extra `(session_id, id)` index. Used by `createTables` and by the migrations.
 * @internal
 */
export function postgresSchemaDdl(tables: ResolvedTables): SessionSchemaDdl {
  const q = quotePostgres;
  const { createTables, addIdIndex, dropTables } = portableCoreDdl(tables, q, 'id BIGSERIAL PRIMARY KEY');
  const { index, qualify } = schemaNames(tables, q);
  return {
    createTables: [...(tables.schema ? [`CREATE SCHEMA IF NOT EXISTS ${q(tables.schema)}`] : []), ...createTables],
    dropTables,
    addIdIndex: [addIdIndex],
    dropIdIndex: [`DROP INDEX IF EXISTS ${qualify(index.sessionId)}`],
  };
}

/** The subset of `pg.Pool` used here. */
interface PgPool {
  query(config: { text: string; values?: unknown[]; name?: string }): Promise<{ rows: any[]; rowCount: number | null }>;
  connect(): Promise<{ query(text: string, values?: unknown[]): Promise<unknown>; release(err?: unknown): void }>;
}

/**
 * PostgreSQL: every operation is one statement, so one round trip and atomic by itself; statements are
 * prepared once per connection (named statements).
 * @internal
 */
export class PostgresSessionStore extends SqlStoreBase {
  readonly dialect = 'postgres' as const;
  private readonly write: { append: string; pop: string; clear: string };
  private readonly names = new Map<string, string>();

  constructor(
    private readonly pool: PgPool,
    tables: ResolvedTables,
  ) {
    super(tables, quotePostgres, (n) => `$${n}`);
    const { S, M } = this;
    this.write = {
      // The upsert locks the session row, so writers of one conversation queue there and each batch
      // gets consecutive ids; the ORDER BY keeps the batch's order.
      append:
        `WITH s AS (INSERT INTO ${S} (session_id) VALUES ($1) ` +
        `ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP RETURNING session_id) ` +
        `INSERT INTO ${M} (session_id, message_data) ` +
        `SELECT s.session_id, d.data FROM s CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS d(data, n) ORDER BY d.n`,
      // SKIP LOCKED: concurrent pops each take a different row instead of waiting and finding it gone.
      pop:
        `WITH victim AS (SELECT id FROM ${M} WHERE ${oneSession('$1', '$1')} ${NEWEST_FIRST} LIMIT 1 FOR UPDATE SKIP LOCKED) ` +
        `DELETE FROM ${M} m USING victim WHERE m.id = victim.id RETURNING m.id, m.message_data`,
      clear: `WITH m AS (DELETE FROM ${M} WHERE session_id = $1) DELETE FROM ${S} WHERE session_id = $1`,
    };
  }

  protected async select<T>(text: string, values: unknown[]): Promise<T[]> {
    const result = await this.pool.query({ text, values, name: this.statementName(text) });
    return result.rows as T[];
  }

  private statementName(text: string): string | undefined {
    if (!text.includes('$1')) return undefined;
    let name = this.names.get(text);
    if (!name) {
      name = 'nsm_' + createHash('sha1').update(text).digest('hex').slice(0, 24);
      this.names.set(text, name);
    }
    return name;
  }

  async append(sessionId: string, data: string[]): Promise<void> {
    if (data.length === 0) return;
    await this.select(this.write.append, [sessionId, data]);
  }

  async popNewest(sessionId: string): Promise<StoredRow | undefined> {
    const rows = await this.select<StoredRow>(this.write.pop, [sessionId]);
    return rows[0];
  }

  async clear(sessionId: string): Promise<boolean> {
    const result = await this.pool.query({ text: this.write.clear, values: [sessionId], name: this.statementName(this.write.clear) });
    return (result.rowCount ?? 0) > 0;
  }

  async createTables(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Several processes may start at once: serialise the DDL.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('nestjs-session-memory:ddl'))`);
      for (const statement of postgresSchemaDdl(this.tables).createTables) await client.query(statement);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
