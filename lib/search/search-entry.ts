import type { SearchInclude } from '../interfaces/search.interface';
import type { SearchRowWrite } from '../storage/search/search-statements';
import { entryTextOf } from './item-text';

/** The first character of a private line's id (docs/conversation-structure.md, "Keeping inherited rows true"). */
const PRIVATE_LINE = '~';

/** A stored row as an entry is made of it: its id, stored text, the text's byte length and its line. @internal */
export interface RowOfEntry {
  id: number | string;
  data: string;
  data_length: number | string;
  /** `main` when absent. */
  branch_id?: string;
}

/** Rows this process appended, their ids as the store reported them (in the order of `data`). @internal */
export interface AppendedRows {
  ids: string[];
  data: string[];
}

/**
 * The search entry of one row: its text and role, or an empty entry (known, nothing to find) for a row
 * nothing of which is indexed. A user message's entry always has the role `user` (its turn is counted
 * from it). The rows of private lines (`~...`, copies made when a branch is frozen) get their role
 * only: their texts are their originals', and their entries serve only to count the turns of the
 * branches inheriting them.
 * @internal
 */
export function searchEntryOf(include: ReadonlySet<SearchInclude>, sessionId: string, row: RowOfEntry): SearchRowWrite {
  const branchId = row.branch_id ?? 'main';
  const { role, body } = entryTextOf(String(row.data), include);
  return {
    sessionId,
    branchId,
    itemId: String(row.id),
    role,
    // (a NUL character, which a JSON escape can hold, is no word and no PostgreSQL text can hold it)
    body: branchId.startsWith(PRIVATE_LINE) ? '' : body.replace(/\0/g, ' '),
    dataLength: Number(row.data_length),
  };
}

/**
 * The entries of the rows an append wrote, on main (the byte length of each stored text as the
 * database counts it: UTF-8).
 * @internal
 */
export function appendedEntries(
  include: ReadonlySet<SearchInclude>,
  sessionId: string,
  rows: AppendedRows,
): SearchRowWrite[] {
  return rows.ids.map((id, i) =>
    searchEntryOf(include, sessionId, { id, data: rows.data[i], data_length: Buffer.byteLength(rows.data[i], 'utf8') }),
  );
}
