import type { DialectSyntax } from './dialect-syntax';
import type { TableNames } from './table-names';

/**
 * The statements of re-encryption (lib/encryption/reencrypt.ts): a bounded scan of every conversation's
 * rows in id order, and a compare-and-set of one row's text, in the messages table (main) or in the
 * branch items table (the rows of every other branch line; its ids are its own).
 */

/** Which table of item rows: main's (the messages table) or the other branch lines' (`<messages>_branch_items`). @internal */
export type RowTable = 'messages' | 'branchItems';

/** Up to `limit` rows of every conversation with ids above `afterId`, in id order. @internal */
export function scanRowsSql(
  names: TableNames,
  syntax: DialectSyntax,
  afterId: number | string,
  limit: number,
  table: RowTable,
) {
  const p = syntax.placeholder;
  return {
    sql: `SELECT id, session_id, message_data FROM ${names[table]} WHERE id > ${p(1)} ORDER BY id LIMIT ${p(2)}`,
    params: [afterId, limit] as unknown[],
  };
}

/** Replaces row `id`'s text with `next` if it still is `expected` (one statement). @internal */
export function swapRowTextSql(
  names: TableNames,
  syntax: DialectSyntax,
  id: number | string,
  expected: string,
  next: string,
  table: RowTable,
) {
  const p = syntax.placeholder;
  return {
    sql: `UPDATE ${names[table]} SET message_data = ${p(1)} WHERE id = ${p(2)} AND message_data = ${p(3)}`,
    params: [next, id, expected] as unknown[],
  };
}
