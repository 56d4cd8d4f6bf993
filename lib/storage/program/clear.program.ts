import type { ProgramStatements } from './program-statements';
import type { StatementProgram } from './statement-program';

/** A clear: every row of the conversation out, the session row kept and touched. @internal */
export function* clearProgram(statements: ProgramStatements, sessionId: string): StatementProgram<void> {
  yield statements.deleteAll(sessionId);
  yield statements.touch(sessionId);
}
