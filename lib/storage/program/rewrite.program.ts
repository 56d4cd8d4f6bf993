import type { ItemRewrite, StoredRow } from '../session-store';
import type { ProgramStatements } from './program-statements';
import type { StatementProgram } from './statement-program';

/**
 * A rewrite: `rewrite` reads every locked row and names new texts and deletions; nothing is written
 * (and `undefined` returned, so the caller rolls back) when it changes nothing.
 * @internal
 */
export function* rewriteProgram(
  statements: ProgramStatements,
  sessionId: string,
  rewrite: (rows: StoredRow[]) => ItemRewrite | undefined,
): StatementProgram<ItemRewrite | undefined> {
  const change = rewrite((yield statements.allRowsLocked(sessionId)) as StoredRow[]);
  if (!change || (change.updates.length === 0 && change.deletes.length === 0)) return undefined;
  for (const { id, data } of change.updates) yield statements.updateRow(sessionId, id, data);
  if (change.deletes.length > 0) yield statements.deleteIds(sessionId, change.deletes);
  yield statements.touch(sessionId);
  return change;
}
