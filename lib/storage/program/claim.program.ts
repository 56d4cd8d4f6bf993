import type { OwnershipSql } from '../ownership.sql';
import type { StatementProgram } from './statement-program';

/** A claim: the recorded owner, or `owner`, recorded now when there is none. @internal */
export function* claimProgram(owners: OwnershipSql, sessionId: string, owner: string): StatementProgram<string> {
  const [found] = (yield owners.selectOwner(sessionId)) as { owner: string }[];
  if (found) return found.owner;
  yield owners.insertOwner(sessionId, owner);
  return owner;
}

/** An assignment: `owner` recorded, replacing any other. @internal */
export function* assignProgram(owners: OwnershipSql, sessionId: string, owner: string): StatementProgram<boolean> {
  const found = (yield owners.selectOwner(sessionId)) as { owner: string }[];
  yield found.length > 0 ? owners.updateOwner(sessionId, owner) : owners.insertOwner(sessionId, owner);
  return true;
}
