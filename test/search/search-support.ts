import type { SessionMemoryModuleOptions, SearchPage } from '../../lib';
import type { TestDialect } from '../support/databases';
import { TestMemory, startMemory, startedLater, urlFor } from '../support/memory';
import { dropSessionTables, ignoreDropError, uniqueTables } from '../support/tables';

/** The search tables beside a pair of tables (dropped before the module's own clean-up). */
export function searchTablesOf(messages: string, dialect: TestDialect): string[] {
  return dialect === 'sqlite' ? [`${messages}_search_fts`, `${messages}_search`] : [`${messages}_search`];
}

/**
 * Two module instances with search on, on the same fresh tables (as two processes): `a` writes, `b`
 * searches without having waited for `a`'s index syncs. Search tables are dropped at the end.
 */
export function useSearchPair(
  dialect: TestDialect,
  baseUrl: string,
  options: Partial<SessionMemoryModuleOptions> = {},
  second: Partial<SessionMemoryModuleOptions> = options,
): [TestMemory, TestMemory] {
  let a: TestMemory | undefined;
  let b: TestMemory | undefined;
  beforeAll(async () => {
    const url = urlFor(dialect, baseUrl);
    a = await startMemory(url, { search: true, ...options }, uniqueTables('srch'));
    b = await startMemory(url, { search: true, ...second }, a.tables);
  });
  afterAll(async () => {
    await b?.module.close();
    if (a) {
      for (const table of searchTablesOf(a.tables.messages, dialect))
        await a.sql(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await dropSessionTables(a.memory.dataSource, a.tables, ignoreDropError);
      await a.module.close();
    }
  });
  return [startedLater(() => a, 'useSearchPair'), startedLater(() => b, 'useSearchPair')];
}

/** `conversationId/text` of every hit, in order: what the specs compare. */
export const hitKeys = (page: SearchPage): string[] => page.hits.map((h) => h.conversationId);

/** The hits' snippets, sorted (for comparing sets of items). */
export const snippets = (page: SearchPage): string[] => page.hits.map((h) => h.snippet).sort();
