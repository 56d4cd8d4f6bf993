import { SessionMemoryConfigurationError } from '../exceptions';
import type { ItemStore } from '../storage/branches/branch-line.store';
import type { PopDecision, PopOptions, SessionStore } from '../storage/session-store';
import type { SearchIndex, WriteEffect } from './search-index';

/** Most row ids of a re-encryption scan remembered (their conversation, for `swapRowText`). */
const MAX_REMEMBERED_ROWS = 100_000;

/**
 * The search layer around a store (composed by the factory when the `search` option is on, below the
 * sealing layer, so it sees stored texts: sealed envelopes are never indexed). Every call goes to the
 * store unchanged; after each write of items it tells the search index which conversation changed
 * and how (`SearchIndex.touched`), which brings that conversation's entries in step in the background.
 * `createTables` also creates the search tables; `verifyTables` also checks them. Built as a proxy
 * that overrides only these methods, so every other member of the store (present or added later)
 * reaches the store itself.
 * @internal
 */
export function withSearchIndex(store: SessionStore, search: SearchIndex): SessionStore {
  const scanned = new Map<string, string>();
  const overrides: Partial<SessionStore> = {
    async createTables() {
      await store.createTables();
      await search.storage.createTables();
    },
    async verifyTables() {
      await store.verifyTables();
      const probe = search.storage.statements.probe();
      try {
        await search.storage.query(probe.sql, probe.params);
      } catch (err) {
        throw new SessionMemoryConfigurationError(
          `the search option is on but the search table ${search.storage.dialect.names.search} is not usable ` +
            `(${(err as Error).message}). Run createSessionMemorySearchMigration(), or start once with createTables: true.`,
          { cause: err },
        );
      }
    },
    // Arguments and results pass through unchanged (whatever the store's signatures grow to).
    // Appends are counted while they run (search/watermarks.ts: a pass reads only the rows after those
    // it indexed, unless an append of this process ran during its read).
    async append(...args: Parameters<SessionStore['append']>) {
      const [conversationId, data, options] = args;
      search.watermarks?.appendStarted(conversationId);
      try {
        // Stores that learn the new rows' ids (PostgreSQL) hand them over: the pass then indexes these
        // texts without reading them back (SearchIndex.touched).
        let ids: string[] | undefined;
        const rowIds = search.takesRowIds ? (given: string[]) => (ids = given) : undefined;
        const result = await store.append(conversationId, data, rowIds ? { ...options, rowIds } : options);
        if (data.length > 0) search.touched(conversationId, 'added', [], ids && { ids, data });
        return result;
      } finally {
        search.watermarks?.appendEnded(conversationId);
      }
    },
    async writeMetadata(...args: Parameters<SessionStore['writeMetadata']>) {
      search.watermarks?.appendStarted(args[0]);
      try {
        const result = await store.writeMetadata(...args);
        if (args[2].length > 0) search.touched(args[0], 'added');
        return result;
      } finally {
        search.watermarks?.appendEnded(args[0]);
      }
    },
    async popNewest<T>(...args: [string, (text: string) => PopDecision<T>, PopOptions?]) {
      const result = await store.popNewest<T>(...args);
      search.touched(args[0], 'removed');
      return result;
    },
    async clearItems(...args: Parameters<SessionStore['clearItems']>) {
      const result = await store.clearItems(...args);
      search.touched(args[0], 'removed');
      return result;
    },
    async deleteConversation(...args: Parameters<SessionStore['deleteConversation']>) {
      const result = await store.deleteConversation(...args);
      search.touched(args[0], 'removed');
      return result;
    },
    async purgeIdle(...args: Parameters<SessionStore['purgeIdle']>) {
      const purged = await store.purgeIdle(...args);
      for (const id of purged) search.touched(id, 'removed');
      return purged;
    },
    async replaceItems(...args: Parameters<SessionStore['replaceItems']>) {
      const result = await store.replaceItems(...args);
      search.touched(args[0], 'changed');
      return result;
    },
    async applyHistory(...args: Parameters<SessionStore['applyHistory']>) {
      const result = await store.applyHistory(...args);
      search.touched(args[0], 'changed');
      return result;
    },
    async rewriteItems(...args: Parameters<SessionStore['rewriteItems']>) {
      const changed = await store.rewriteItems(...args);
      search.touched(args[0], 'changed', changed?.updates.map((u) => String(u.id)) ?? []);
      return changed;
    },
    async scanRows(afterId, limit, table = 'messages') {
      const rows = await store.scanRows(afterId, limit, table);
      if (scanned.size + rows.length > MAX_REMEMBERED_ROWS) scanned.clear();
      for (const row of rows) scanned.set(`${table}:${String(row.id)}`, row.session_id);
      return rows;
    },
    async swapRowText(id, expected, next, table = 'messages') {
      const swapped = await store.swapRowText(id, expected, next, table);
      const conversationId = scanned.get(`${table}:${String(id)}`);
      // A row swapped without a scan first: its entry no longer matches the row's byte length (never
      // returned), and `reindex` removes it. (Ids name main's rows; a branch row's change is a change.)
      if (swapped && conversationId !== undefined) {
        search.touched(conversationId, 'changed', table === 'messages' ? [String(id)] : []);
      }
      return swapped;
    },
  };
  return new Proxy(store, {
    get(target, property) {
      if (typeof property === 'string' && Object.prototype.hasOwnProperty.call(overrides, property))
        return overrides[property as keyof SessionStore];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The search layer around one branch's item store (`BranchStore.line`): its writes mark the
 * conversation like main's do, so the branch's rows are indexed (and entries of rows it removed or
 * rewrote are dropped) by the same background sync.
 * @internal
 */
export function withBranchSearchIndex(line: ItemStore, search: SearchIndex): ItemStore {
  const mark =
    <A extends unknown[], R>(effect: WriteEffect, write: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await write(...args);
      search.touched(args[0] as string, effect);
      return result;
    };
  return {
    readAll: (...args) => line.readAll(...args),
    readNewest: (...args) => line.readNewest(...args),
    readAllData: (...args) => line.readAllData(...args),
    readNewestData: (...args) => line.readNewestData(...args),
    append: mark('added', (...args: Parameters<ItemStore['append']>) => line.append(...args)),
    writeMetadata: mark('added', (...args: Parameters<ItemStore['writeMetadata']>) => line.writeMetadata(...args)),
    popNewest: (sessionId, decode, options) =>
      mark('removed', (id: string) => line.popNewest(id, decode, options))(sessionId),
    clearItems: mark('removed', (...args: Parameters<ItemStore['clearItems']>) => line.clearItems(...args)),
    replaceItems: mark('changed', (...args: Parameters<ItemStore['replaceItems']>) => line.replaceItems(...args)),
    rewriteItems: mark('changed', (...args: Parameters<ItemStore['rewriteItems']>) => line.rewriteItems(...args)),
    applyHistory: mark('changed', (...args: Parameters<ItemStore['applyHistory']>) => line.applyHistory(...args)),
  };
}
