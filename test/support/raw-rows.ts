import { SessionMemoryService } from '../../lib';
import { TestMemory, rawQuery } from './memory';

/**
 * The rows of a conversation as the database holds them, read and written past the module (for specs
 * about what is stored: envelopes, corrupt rows, rows another program wrote). `m` is usually a module
 * without encryption on the same tables as the one under test.
 */

/** The stored `message_data` of one conversation, oldest first (by row id). */
export async function storedMessageData(m: TestMemory, conversationId: string): Promise<string[]> {
  const rows = await m.sql<{ message_data: string }>(
    `SELECT message_data FROM ${m.tables.messages} WHERE session_id = ? ORDER BY id`,
    [conversationId],
  );
  return rows.map((r) => r.message_data);
}

/** Inserts rows with `message_data` exactly as given (one INSERT each, in order), bypassing the module. */
export async function insertRawRows(m: TestMemory, conversationId: string, texts: readonly string[]): Promise<void> {
  for (const text of texts)
    await m.sql(`INSERT INTO ${m.tables.messages} (session_id, message_data) VALUES (?, ?)`, [conversationId, text]);
}

/** Counts the stored messages of one conversation by reading the module's own messages table directly. */
export async function countMessages(
  memory: SessionMemoryService,
  table: string,
  conversationId: string,
): Promise<number> {
  const rows = await rawQuery<{ n: number | string }>(
    memory.dataSource,
    `SELECT COUNT(*) AS n FROM ${table} WHERE session_id = ?`,
    [conversationId],
  );
  return Number(rows[0].n);
}
