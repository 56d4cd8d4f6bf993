import type { PopDecision, PopOutcome, StoredRow } from '../session-store';
import type { ProgramStatements } from './program-statements';
import type { StatementProgram } from './statement-program';

/** Most corrupt rows a pop reads and deletes in one statement. */
const POP_BATCH_MAX = 1000;

/**
 * A pop: the newest row, or, when it is corrupt, the newest valid one below it. Reads newest first
 * (one row, then batches of up to `POP_BATCH_MAX`), deleting each corrupt batch and, finally, the
 * valid row with the corrupt ones above it in one statement. Under the session-row lock, so the newest
 * row is the newest committed one. A row `decode` keeps (no configured key opens it) ends the pop:
 * the rows to be kept down to the next valid one are counted and nothing is deleted (`popCommits`
 * rolls back what the earlier batches removed). `alreadySkipped`: corrupt rows the caller removed first.
 * @internal
 */
export function* popProgram<T>(
  statements: ProgramStatements,
  sessionId: string,
  decode: (text: string) => PopDecision<T>,
  alreadySkipped: StoredRow[] = [],
): StatementProgram<PopOutcome<T>> {
  const skipped = { count: 0 } as PopOutcome<T>['skipped'];
  const skip = (rows: StoredRow[]) => {
    if (rows.length === 0) return;
    skipped.newestId ??= rows[0].id;
    skipped.oldestId = rows[rows.length - 1].id;
    skipped.count += rows.length;
  };
  skip(alreadySkipped);
  for (let batch = 1; ; batch = Math.min(batch * 10, POP_BATCH_MAX)) {
    const rows = (yield statements.popBatch(sessionId, batch)) as StoredRow[];
    for (let i = 0; i < rows.length; i++) {
      const decision = decode(rows[i].message_data);
      if (decision === 'skip') continue;
      if (decision === 'keep') {
        return { skipped: { count: 0 }, unopenable: yield* countKept(statements, sessionId, decode, rows, i) };
      }
      yield statements.deleteIds(
        sessionId,
        rows.slice(0, i + 1).map((r) => r.id),
      );
      skip(rows.slice(0, i));
      return { row: rows[i], value: decision.value, skipped };
    }
    if (rows.length > 0)
      yield statements.deleteIds(
        sessionId,
        rows.map((r) => r.id),
      );
    skip(rows);
    if (rows.length < batch) return { skipped };
  }
}

/**
 * A refused pop: the rows `decode` keeps from `rows[from]` down to the next valid row (or the
 * oldest), read in batches below the last one seen. Only counts: the caller rolls back.
 */
function* countKept<T>(
  statements: ProgramStatements,
  sessionId: string,
  decode: (text: string) => PopDecision<T>,
  rows: StoredRow[],
  from: number,
): StatementProgram<number> {
  let kept = 0;
  let batch = rows;
  for (let i = from; ;) {
    for (; i < batch.length; i++) {
      const decision = decode(batch[i].message_data);
      if (decision === 'keep') kept++;
      else if (decision !== 'skip') return kept;
    }
    if (batch.length === 0) return kept;
    batch = (yield statements.newestBefore(sessionId, batch[batch.length - 1].id, POP_BATCH_MAX)) as StoredRow[];
    i = 0;
  }
}
