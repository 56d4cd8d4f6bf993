import type { QuoteIdentifier, TableNames } from '../table-names';

/**
 * The DDL of the three branch tables (docs/conversation-structure.md, "How branches are stored"):
 * - `<sessions>_branches`: one row per branch of a conversation that has any (`main` included once a
 *   first branch exists); `is_current` marks the current branch (no row marked: `main`); a deleted
 *   branch keeps its row (`deleted = 1`), so its id is never given again.
 * - `<sessions>_segments`: what a branch inherits, as ranges of other lines: position `p` holds
 *   the rows of line `source_id` (`main`: the messages table; else the branch items of that id) with
 *   `id <= up_to`, in position order, before the branch's own rows.
 * - `<messages>_branch_items`: the rows of every line but `main` (the messages table stays exactly the
 *   main branch, which is what Python's SQLAlchemySession reads).
 * Every table is keyed by `session_id` first and cascades from the sessions table.
 * @internal
 */
export interface BranchTablesDdl {
  create: string[];
  drop: string[];
  /** Citus: the tables to distribute by `session_id`, colocated with the sessions table. */
  distributed: string[];
}

/** Column types of one dialect for the branch tables. @internal */
export interface BranchColumnTypes {
  /** The conversation id column, e.g. `VARCHAR NOT NULL` or MySQL's exact `VARCHAR(255) ... NOT NULL`. */
  sessionId: string;
  /** A short exact text (branch ids): `VARCHAR(64) NOT NULL`. */
  shortText: string;
  /** A nullable text for names. */
  name: string;
  /** The id column of the branch items, with its key when it is the primary key. */
  idColumn: string;
  /** A table constraint for the branch items' key when `idColumn` is not one (Citus: `PRIMARY KEY (session_id, id)`). */
  itemsKey?: string;
  json: string;
  timestamp: string;
  /** Appended to each CREATE TABLE (MySQL: engine and charset). */
  tableSuffix: string;
  /** Whether `CREATE INDEX IF NOT EXISTS` exists (else the index is declared in the CREATE TABLE). */
  separateIndex: boolean;
  /** A foreign key clause to the sessions table, given a constraint name. */
  cascade(constraint: string): string;
}

/** The branch tables' DDL for `names`, in `types`. @internal */
export function branchTablesDdl(
  names: TableNames,
  quote: QuoteIdentifier,
  messagesTable: string,
  types: BranchColumnTypes,
): BranchTablesDdl {
  const { branches, branchSegments, branchItems, index } = names;
  const lineIndex = `(session_id, branch_id, id)`;
  const fk = (suffix: string) => types.cascade(`fk_${messagesTable}_${suffix}`);
  return {
    create: [
      `CREATE TABLE IF NOT EXISTS ${branches} (` +
        `session_id ${types.sessionId}, branch_id ${types.shortText}, name ${types.name}, ` +
        `parent_branch_id ${types.shortText.replace(' NOT NULL', '')}, from_turn INTEGER, ` +
        `is_current SMALLINT NOT NULL DEFAULT 0, deleted SMALLINT NOT NULL DEFAULT 0, created_at ${types.timestamp}, ` +
        `PRIMARY KEY (session_id, branch_id), ${fk('branches')})${types.tableSuffix}`,
      `CREATE TABLE IF NOT EXISTS ${branchSegments} (` +
        `session_id ${types.sessionId}, branch_id ${types.shortText}, position INTEGER NOT NULL, ` +
        `source_id ${types.shortText}, up_to BIGINT NOT NULL, ` +
        `PRIMARY KEY (session_id, branch_id, position), ${fk('segments')})${types.tableSuffix}`,
      `CREATE TABLE IF NOT EXISTS ${branchItems} (` +
        `${types.idColumn}, session_id ${types.sessionId}, branch_id ${types.shortText}, ` +
        `message_data ${types.json}, created_at ${types.timestamp}` +
        `${types.itemsKey ? `, ${types.itemsKey}` : ''}` +
        `${types.separateIndex ? '' : `, KEY ${quote(index.branchLine)} ${lineIndex}`}, ${fk('branch_items')})${types.tableSuffix}`,
      ...(types.separateIndex
        ? [`CREATE INDEX IF NOT EXISTS ${quote(index.branchLine)} ON ${branchItems} ${lineIndex}`]
        : []),
    ],
    drop: [
      `DROP TABLE IF EXISTS ${branchItems}`,
      `DROP TABLE IF EXISTS ${branchSegments}`,
      `DROP TABLE IF EXISTS ${branches}`,
    ],
    distributed: [branches, branchSegments, branchItems],
  };
}
