import type { ReplaceOutcome, StoredRow } from '../session-store';
import type { ProgramStatements } from './program-statements';
import type { SqlStep, StatementProgram } from './statement-program';

/**
 * A compaction: every row out, `data` in (`inserts`, built before the transaction), and the rows
 * `keep` names (chosen from the locked rows) back in after it.
 * @internal
 */
export function* replaceProgram(
  statements: ProgramStatements,
  sessionId: string,
  data: string[],
  inserts: SqlStep[],
  keep: (rows: StoredRow[]) => string[],
): StatementProgram<ReplaceOutcome> {
  const rows = (yield statements.allRowsLocked(sessionId)) as StoredRow[];
  const kept = keep(rows);
  if (rows.length > 0) yield statements.deleteAll(sessionId);
  yield* kept.length > 0 ? statements.insert(sessionId, [...data, ...kept]) : inserts;
  yield statements.touch(sessionId);
  return { removed: rows, kept };
}
