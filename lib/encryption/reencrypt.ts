import { InvalidManagementOptionsError } from '../exceptions';
import type { SessionMemoryContext } from '../session-memory.context';
import type { RowTable } from '../storage/reencryption.sql';
import { isRowIdText } from '../validation';
import type { ReencryptOptions, ReencryptResult } from '../interfaces/maintenance.interface';

export type { ReencryptOptions, ReencryptResult } from '../interfaces/maintenance.interface';

/**
 * One bounded step of moving stored rows to the current key, main's rows (the messages table) first,
 * then, with the branch tables, the rows of every other branch line: reads `batchSize` rows after the
 * cursor, and rewrites each row that an older key opens (and, with `encryptPlain`, each plain row)
 * with one compare-and-set UPDATE, so writers are never blocked and a row changed meanwhile is left
 * for what changed it. Every row stays readable throughout, as long as the older keys stay
 * configured until the walk is done.
 * @internal
 */
export async function reencryptStep(
  context: SessionMemoryContext,
  options: ReencryptOptions,
): Promise<ReencryptResult> {
  const { codec, store, gate } = context;
  if (!codec.sealing) {
    throw new InvalidManagementOptionsError('reencrypt needs the encryption option: no keys are configured.');
  }
  const batchSize = options.batchSize ?? 500;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new InvalidManagementOptionsError(
      `reencrypt batchSize must be a whole number from 1 to 10000, got ${String(batchSize)}.`,
    );
  }
  const branches = context.optionalTables.current.branches;
  let { table, after } = { table: 'messages' as RowTable, after: '0' };
  if (options.cursor !== undefined) {
    const cursor = parseCursor(options.cursor);
    if (!cursor || (cursor.table === 'branchItems' && !branches)) {
      throw new InvalidManagementOptionsError(
        'reencrypt cursor is not a cursor this method returned (the decimal text of a row id, at most 9223372036854775807, ' +
          `or "${BRANCH_ROWS}" and one): pass the nextCursor of the previous call unchanged, or leave it out to start from the first row.`,
      );
    }
    ({ table, after } = cursor);
  }
  const rows = await gate.guard('reencrypt', () => store.scanRows(after, batchSize, table));
  let updated = 0;
  let unreadable = 0;
  for (const row of rows) {
    const key = codec.keyIndex(row.session_id, row.message_data);
    if (key === undefined) {
      unreadable++;
      continue;
    }
    if (key === 0 || (key === -1 && !options.encryptPlain)) continue;
    const plain = codec.open(row.session_id, row.message_data);
    if (plain === undefined) continue;
    const [sealed] = codec.seal(row.session_id, [plain]);
    if (await gate.guard('reencrypt', () => store.swapRowText(row.id, row.message_data, sealed, table))) updated++;
  }
  const last = rows[rows.length - 1];
  let nextCursor: string | undefined;
  if (rows.length === batchSize && last)
    nextCursor = table === 'messages' ? String(last.id) : `${BRANCH_ROWS}${String(last.id)}`;
  // Main's rows done: the rows of the other branch lines next (a table of their own, ids of their own).
  else if (table === 'messages' && branches) nextCursor = `${BRANCH_ROWS}0`;
  return { scanned: rows.length, updated, unreadable, nextCursor };
}

/** The prefix of a cursor into the branch lines' rows (`<messages>_branch_items`). */
const BRANCH_ROWS = 'branches:';

/** A cursor's table and row id, or undefined when it is not one `reencryptStep` returns. */
function parseCursor(cursor: string): { table: RowTable; after: string } | undefined {
  if (typeof cursor !== 'string') return undefined;
  const table: RowTable = cursor.startsWith(BRANCH_ROWS) ? 'branchItems' : 'messages';
  const after = table === 'branchItems' ? cursor.slice(BRANCH_ROWS.length) : cursor;
  return isRowIdText(after, { allowZero: true }) ? { table, after } : undefined;
}
