import type { ResolvedTables } from './session-store';

/** Quotes one SQL identifier the way a dialect does. @internal */
export type QuoteIdentifier = (identifier: string) => string;

/**
 * The quoted, schema-qualified names of every table of one pair of Python-compatible tables, and the
 * names of the indexes this package creates beside them. @internal
 */
export interface TableNames {
  /** The sessions table (Python's `sessions_table`). */
  sessions: string;
  /** The messages table (Python's `messages_table`). */
  messages: string;
  /** `<sessions>_metadata`: optional, one JSON object per conversation. */
  metadata: string;
  /** `<messages>_operations`: optional, the applied history-transaction operation ids. */
  operations: string;
  /** `<sessions>_owners`: optional, who owns each conversation (the `owner` option). */
  owners: string;
  /** `<sessions>_branches`: optional, one row per branch of a conversation that has any (docs/conversation-structure.md). */
  branches: string;
  /** `<sessions>_segments`: optional, which rows of other lines each branch inherits. */
  branchSegments: string;
  /** `<messages>_branch_items`: optional, the rows written on branches other than main. */
  branchItems: string;
  /** Index names, unquoted and unqualified (an index lives in its table's schema). */
  index: {
    /** `idx_<messages>_session_time` on (session_id, created_at), as in the Python reference. */
    sessionTime: string;
    /** `idx_<messages>_session_id` on (session_id, id): serves every per-conversation read. */
    sessionId: string;
    /** `idx_<sessions>_updated` on (updated_at, session_id): listing and retention. */
    updated: string;
    /** `idx_<sessions>_owner` on the owners table's (owner, session_id): listing by owner. */
    owner: string;
    /** `idx_<messages>_branch_line` on the branch items' (session_id, branch_id, id): reads of one branch. */
    branchLine: string;
  };
  /** Quotes a name and qualifies it with the schema, like the tables. */
  qualify(name: string): string;
  /** Quotes a name. */
  quote: QuoteIdentifier;
}

/** The names for `tables` in a dialect that quotes with `quote`. @internal */
export function tableNames(tables: ResolvedTables, quote: QuoteIdentifier): TableNames {
  const qualify = (name: string) => (tables.schema ? `${quote(tables.schema)}.${quote(name)}` : quote(name));
  return {
    sessions: qualify(tables.sessions),
    messages: qualify(tables.messages),
    metadata: qualify(`${tables.sessions}_metadata`),
    operations: qualify(`${tables.messages}_operations`),
    owners: qualify(`${tables.sessions}_owners`),
    branches: qualify(`${tables.sessions}_branches`),
    branchSegments: qualify(`${tables.sessions}_segments`),
    branchItems: qualify(`${tables.messages}_branch_items`),
    index: {
      sessionTime: `idx_${tables.messages}_session_time`,
      sessionId: `idx_${tables.messages}_session_id`,
      updated: `idx_${tables.sessions}_updated`,
      owner: `idx_${tables.sessions}_owner`,
      branchLine: `idx_${tables.messages}_branch_line`,
    },
    qualify,
    quote,
  };
}
