import type { SqlStep } from '../program/statement-program';

/**
 * What a locked block answered: whether the session row was there (and locked), whether the steps
 * ran, and the rows of each step that returns rows, in order.
 * @internal
 */
export interface BlockAnswer {
  locked: boolean;
  /** Whether the steps ran: the session row was there and the block's condition held. */
  ran: boolean;
  rowSets: unknown[][];
}

/** A condition the steps run under, checked once the session row is locked. @internal */
export interface BlockCondition {
  sql: string;
  params: unknown[];
}

/**
 * A lock-first write transaction as one MariaDB statement: a `BEGIN NOT ATOMIC ... END` block that
 * starts the transaction, locks the conversation's session row (`SELECT ... FOR UPDATE`, as every
 * writer does first), runs `steps` only if that row exists and `condition` (read once the row is
 * locked) holds, commits, and answers whether the row existed and whether the steps ran.
 * The same statements, locks and order as the transaction sent statement by statement, in one round
 * trip instead of 4 or 5. Values stay `?` placeholders (mysql2 escapes them into the text, as for every
 * query here). MySQL has no such blocks: it refuses the statement as a syntax error before running any
 * of it.
 * @internal
 */
export function lockedBlock(
  sessionsTable: string,
  sessionId: string,
  steps: readonly SqlStep[],
  condition?: BlockCondition,
): SqlStep {
  const body = steps.map((step) => `    ${step.sql};\n`).join('');
  const sql =
    'BEGIN NOT ATOMIC\n' +
    '  DECLARE locked INT DEFAULT 0;\n' +
    '  DECLARE ran INT DEFAULT 0;\n' +
    '  START TRANSACTION;\n' +
    `  SELECT COUNT(*) INTO locked FROM ${sessionsTable} WHERE session_id = ? FOR UPDATE;\n` +
    `  IF locked = 1${condition ? ` AND (${condition.sql})` : ''} THEN\n${body}    SET ran = 1;\n  END IF;\n` +
    '  COMMIT;\n' +
    '  SELECT locked, ran;\n' +
    'END';
  const params = [sessionId, ...(condition?.params ?? []), ...steps.flatMap((step) => step.params)];
  return { sql, params, returnsRows: true };
}

/**
 * Reads what mysql2 returns for a locked block: one array of rows per result set (the steps' that
 * return rows, then the block's own `SELECT locked, ran`), and the final status.
 * @internal
 */
export function blockAnswer(result: unknown): BlockAnswer {
  const sets = (Array.isArray(result) ? result : []).filter((part): part is unknown[] => Array.isArray(part));
  const last = sets.pop() as { locked?: unknown; ran?: unknown }[] | undefined;
  if (!last || last.length !== 1 || last[0].locked === undefined)
    throw new Error('a locked block answered without its lock result'); // never: the block always ends with it
  return { locked: Number(last[0].locked) === 1, ran: Number(last[0].ran) === 1, rowSets: sets };
}

/**
 * Bytes that a locked block adds to its steps at most: the block's own text and condition, the sessions table's
 * name, and the conversation id (at most 255 characters, escaped, 3 bytes each) once more.
 */
const BLOCK_OVERHEAD_BYTES = 4096;

/**
 * Whether a block appending `data` (its touch and one INSERT) stays within `max_allowed_packet`: every
 * UTF-16 unit counted at 3 bytes (its most once escaped), plus the statements' own text and a margin.
 * @internal
 */
export function appendFitsInBlock(maxPacketBytes: number, sessionId: string, data: readonly string[]): boolean {
  let bytes = BLOCK_OVERHEAD_BYTES + 200 + data.length * (sessionId.length * 3 + 12);
  for (const text of data) bytes += text.length * 3;
  return bytes <= maxPacketBytes - 1024;
}
