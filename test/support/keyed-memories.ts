import { SessionMemoryModuleOptions } from '../../lib';
import { TestDialect } from './databases';
import { SessionTables } from './tables';
import { TestMemory, startMemory, startedLater, urlFor } from './memory';

/** What `useKeyedMemories` gives an encryption suite. */
export interface KeyedMemories {
  /** A module without encryption: it sees the rows as they are stored. */
  plain: TestMemory;
  /**
   * Starts another module on `tables` (default: plain's) with these `encryption` options (none when
   * undefined), closed after the suite.
   */
  withKeys(encryption?: SessionMemoryModuleOptions['encryption'], tables?: SessionTables): Promise<TestMemory>;
  /** Closes a module the test started itself after the suite, in turn with those of `withKeys`; returns it. */
  closeAfterAll(m: TestMemory): TestMemory;
}

/**
 * For encryption suites: `plain` (see `useMemory`) and modules with keys started on its tables as the
 * tests need them; every one is closed after the suite, `plain` last (it drops the tables).
 */
export function useKeyedMemories(dialect: TestDialect, baseUrl: string): KeyedMemories {
  let started: TestMemory | undefined;
  const open: TestMemory[] = [];
  beforeAll(async () => {
    started = await startMemory(urlFor(dialect, baseUrl));
  });
  afterAll(async () => {
    for (const m of open) await m.close();
    await started?.close();
  });
  const plain = startedLater(() => started, 'useKeyedMemories');
  return {
    plain,
    async withKeys(encryption, tables = plain.tables) {
      const m = await startMemory(plain.url, encryption === undefined ? {} : { encryption }, tables);
      open.push(m);
      return m;
    },
    closeAfterAll(m) {
      open.push(m);
      return m;
    },
  };
}
