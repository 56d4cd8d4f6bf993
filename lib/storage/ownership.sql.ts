import type { DialectSyntax } from './dialect-syntax';
import type { SqlStep } from './program/statement-program';
import type { OwnerFilter } from './session-store';
import type { ReadSql, SessionReads } from './session-reads';
import type { TableNames } from './table-names';

/** What the placeholders of an owner condition hold, in order. */
type Role = 'id' | 'owner';

/**
 * The SQL of conversation ownership (the rule is lib/ownership/owner-check.ts; this is its SQL): the
 * owner condition of owner-checked reads, the ownership read, and the owners-table statements of
 * `claim.program.ts`. Every statement finds the owners row by `session_id` (`$1` on PostgreSQL, so
 * that Citus routes it to the conversation's shard).
 * @internal
 */
export class OwnershipSql {
  private readonly ownedReads = new Map<OwnerFilter['unowned'], { sql: ReadSql; roles: Role[] }>();
  /** Whether placeholders are numbered (`$n`: one may be used twice) rather than positional (`?`). */
  private readonly numbered: boolean;

  constructor(
    private readonly names: TableNames,
    private readonly syntax: DialectSyntax,
    private readonly sessionReads: SessionReads,
  ) {
    this.numbered = syntax.placeholder(1) !== syntax.placeholder(2);
  }

  /**
   * The condition that the caller may read the conversation: nobody else owns it (`readable`), or the
   * caller owns it (`hidden`: a conversation nobody owns is not readable). The owners row is looked up
   * by the conversation id bound by `bindId`.
   */
  ownerCondition(unowned: OwnerFilter['unowned'], bindId: () => string, bindOwner: () => string): string {
    const sub = `SELECT 1 FROM ${this.names.owners} o WHERE o.session_id = ${bindId()} AND `;
    const matches = this.syntax.ownerMatches('o.owner', bindOwner);
    return unowned === 'readable' ? `NOT EXISTS (${sub}NOT (${matches}))` : `EXISTS (${sub}${matches})`;
  }

  /**
   * The owner condition of a statement whose own first `taken` placeholders are bound, and what its
   * placeholders hold, in order (numbered placeholders reuse `$1` for the id).
   */
  private condition(unowned: OwnerFilter['unowned'], taken: number): { sql: string; roles: Role[] } {
    const param = this.syntax.placeholder;
    const roles: Role[] = [];
    let n = taken;
    const bindId = () => {
      if (this.numbered) return param(1);
      roles.push('id');
      return param(++n);
    };
    const bindOwner = () => {
      roles.push('owner');
      return param(++n);
    };
    return { sql: this.ownerCondition(unowned, bindId, bindOwner), roles };
  }

  private ownedReadsOf(unowned: OwnerFilter['unowned']): { sql: ReadSql; roles: Role[] } {
    let found = this.ownedReads.get(unowned);
    if (found) return found;
    const { sql: condition, roles } = this.condition(unowned, this.sessionReads.params);
    found = {
      roles,
      sql: this.sessionReads.readsWhere(
        `${this.sessionReads.where} AND ${condition}`,
        this.sessionReads.params + roles.length,
      ),
    };
    this.ownedReads.set(unowned, found);
    return found;
  }

  /** The conversation reads, each carrying the owner condition after the conversation's own placeholders. */
  reads(filter: OwnerFilter): ReadSql {
    return this.ownedReadsOf(filter.unowned).sql;
  }

  /** The values of an owned read: the conversation's, the owner condition's, then `rest`. */
  args(sessionId: string, filter: OwnerFilter, ...rest: unknown[]): unknown[] {
    const { roles } = this.ownedReadsOf(filter.unowned);
    return this.sessionReads.args(sessionId, ...roles.map((r) => (r === 'id' ? sessionId : filter.owner)), ...rest);
  }

  /** The metadata of one conversation, owner-checked with `filter`. */
  readMetadata(sessionId: string, filter?: OwnerFilter): { sql: string; params: unknown[] } {
    const select = `SELECT metadata FROM ${this.names.metadata} WHERE session_id = ${this.syntax.placeholder(1)}`;
    if (!filter) return { sql: select, params: [sessionId] };
    const { sql, roles } = this.condition(filter.unowned, 1);
    const values = roles.map((r) => (r === 'id' ? sessionId : filter.owner));
    return { sql: `${select} AND ${sql}`, params: [sessionId, ...values] };
  }

  /** Whether the conversation has a session row, and its owner (`owner` null when none). */
  readOwnership(sessionId: string): { sql: string; params: unknown[] } {
    const { sessions, owners } = this.names;
    const param = this.syntax.placeholder;
    // Both tables pinned to the id (Citus routes the join to the conversation's shard).
    return {
      sql:
        `SELECT o.owner AS owner FROM ${sessions} s LEFT JOIN ${owners} o ON o.session_id = s.session_id ` +
        `AND o.session_id = ${param(1)} WHERE s.session_id = ${this.numbered ? param(1) : param(2)}`,
      params: this.numbered ? [sessionId] : [sessionId, sessionId],
    };
  }

  /** The recorded owner of the conversation (rows: `{ owner }`). */
  selectOwner(sessionId: string): SqlStep {
    const sql = `SELECT owner FROM ${this.names.owners} WHERE session_id = ${this.syntax.placeholder(1)}`;
    return { sql, params: [sessionId], returnsRows: true };
  }

  /** Records `owner` for a conversation that has none. */
  insertOwner(sessionId: string, owner: string): SqlStep {
    const param = this.syntax.placeholder;
    const sql = `INSERT INTO ${this.names.owners} (session_id, owner) VALUES (${param(1)}, ${param(2)})`;
    return { sql, params: [sessionId, owner], returnsRows: false };
  }

  /** Replaces the recorded owner. */
  updateOwner(sessionId: string, owner: string): SqlStep {
    const param = this.syntax.placeholder;
    const sql = `UPDATE ${this.names.owners} SET owner = ${param(1)} WHERE session_id = ${param(2)}`;
    return { sql, params: [owner, sessionId], returnsRows: false };
  }
}
