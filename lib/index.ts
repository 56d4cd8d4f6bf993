/**
 * The public API of nestjs-session-memory (README, "API"). Everything else under lib/ is internal.
 * A change here changes the package's API: test/types/public-api.spec.ts pins the list.
 */

// The module and what it provides
export { SessionMemoryModule } from './session-memory.module';
export { SessionMemoryService } from './session-memory.service';
export { ConversationSession } from './conversation-session';
export { InjectSessionMemory, InjectConversationSession, Conversation } from './session-memory.decorator';
export {
  getConversationSessionToken,
  getSessionMemoryOptionsToken,
  getSessionMemoryToken,
} from './session-memory.constants';

// Tools around it
export { windowHistory } from './history/window-history';
export { createSessionMemoryMigration, createSessionMemoryUpgradeMigration } from './migrations';
export { createSessionMemorySearchMigration } from './search/search.migration'; // ---- search
export { SessionMemoryHealthIndicator } from './health/session-memory.health';

// Input limits
export { MAX_CONVERSATION_ID_LENGTH, DEFAULT_ITEM_LIMITS } from './validation';
export { MAX_METADATA_BYTES } from './management/session-metadata';

// Every public type (options, items, pages, changes, ...) and every error
export * from './interfaces';
export * from './exceptions';

// Turns and usage (docs/conversation-structure.md)
export type { ConversationTurn, TurnItem, TurnItems, ToolUsage } from './structure/turns';
export type { BranchReadOptions } from './structure/structure-input';
export type { SessionUsage, TurnUsage, UsageQuery, UsageSummary, UsageTotals } from './structure/usage.types';
