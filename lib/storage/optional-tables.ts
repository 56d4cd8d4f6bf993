import { SessionMemoryConfigurationError } from '../exceptions';
import type { OptionalTables, SessionStore } from './session-store';

const PURPOSE: Record<keyof OptionalTables, string> = {
  metadata: 'conversation metadata',
  operations: 'history transactions (applyHistoryTransaction)',
  owners: 'conversation ownership (the owner option)',
  branches: 'branches (createBranchFromTurn, switchToBranch, onBranch)',
};

/**
 * Which of the optional tables exist, found at startup and looked for again when a call needs one
 * that was missing (the migration may have run since).
 * @internal
 */
export class OptionalTablesProbe {
  private found: OptionalTables = { metadata: false, operations: false, owners: false, branches: false };

  constructor(private readonly store: SessionStore) {}

  /** The tables found so far. */
  get current(): OptionalTables {
    return this.found;
  }

  /** Looks for the tables again. */
  async refresh(): Promise<OptionalTables> {
    this.found = await this.store.probeOptionalTables();
    return this.found;
  }

  /** Resolves when the `kind` table exists. @throws SessionMemoryConfigurationError naming the fix otherwise. */
  async require(kind: keyof OptionalTables): Promise<void> {
    if (this.found[kind] || (await this.refresh())[kind]) return;
    throw new SessionMemoryConfigurationError(
      `${PURPOSE[kind]} need the optional ${kind} table, which does not exist. ` +
        'Set `createTables: true`, or run the migration (see docs/managing-conversations.md, "Tables").',
    );
  }
}
