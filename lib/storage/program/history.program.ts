import type { HistoryOutcome, HistoryPlan, StoredRow } from '../session-store';
import type { ProgramStatements } from './program-statements';
import type { SqlStep, StatementProgram } from './statement-program';

/**
 * A history transaction: check the operation log, check and delete the expected newest rows, append,
 * touch, record the operation. It writes nothing unless the outcome is `applied` (the caller rolls
 * back otherwise, see `isApplied`). `inserts` are `statements.insert(sessionId, plan.append)`, built
 * before the transaction so that a refusal comes before any I/O.
 * @internal
 */
export function* historyProgram(
  statements: ProgramStatements,
  sessionId: string,
  plan: HistoryPlan,
  inserts: SqlStep[],
): StatementProgram<HistoryOutcome> {
  const logged = yield* historyOperationLog(statements, sessionId, plan);
  if (logged) return logged;
  let removed: StoredRow[] = [];
  if (plan.replace && plan.replace.count > 0) {
    const rows = (yield statements.newestRowsLocked(sessionId, plan.replace.count)) as StoredRow[];
    if (rows.length !== plan.replace.count || !plan.replace.matches(rows)) return { status: 'mismatch' };
    yield statements.deleteIds(
      sessionId,
      rows.map((r) => r.id),
    );
    removed = rows;
  }
  yield* inserts;
  yield statements.touch(sessionId);
  yield statements.recordOperation(sessionId, plan.operationId, plan.hash);
  return { status: 'applied', removed };
}

/**
 * The operation log's answer for a history transaction: `replayed` or `conflict` when its operation id
 * was applied before, `undefined` when it is new (shared by the main line and the branches).
 * @internal
 */
export function* historyOperationLog(
  statements: ProgramStatements,
  sessionId: string,
  plan: HistoryPlan,
): StatementProgram<HistoryOutcome | undefined> {
  const existing = (yield statements.recordedOperation(sessionId, plan.operationId)) as { transaction_hash: string }[];
  if (existing.length === 0) return undefined;
  return plan.accepts(String(existing[0].transaction_hash).trim()) ? { status: 'replayed' } : { status: 'conflict' };
}
