export { SessionMemoryModule } from './session-memory.module';
export { SessionMemoryService } from './session-memory.service';
export { ConversationSession } from './conversation-session';
export { InjectSessionMemory, InjectConversationSession, Conversation } from './session-memory.decorator';
export {
  DEFAULT_CONVERSATION_ID_HEADER,
  DEFAULT_SESSION_MEMORY_NAME,
  getConversationSessionToken,
  getSessionMemoryOptionsToken,
  getSessionMemoryToken,
} from './session-memory.constants';
export { DEFAULT_SESSION_MEMORY_URL } from './storage/data-source.factory';
export { MAX_CONVERSATION_ID_LENGTH, DEFAULT_ITEM_LIMITS } from './validation';
export type { SessionStoreDialect } from './storage/session-store';
export * from './interfaces';
export type { SessionAccessOptions } from './ownership/session-access.options';
export * from './exceptions';
export { createSessionMemoryMigration, createSessionMemoryUpgradeMigration } from './migrations';
export type { SessionMemoryMigrationClass, SessionMemoryMigrationOptions } from './migrations';
export type { ListSessionsOptions, SessionPage, SessionSummary } from './management/list-sessions.options';
export type { PurgeExpiredOptions } from './management/retention';
export type { SessionMetadata } from './management/session-metadata';
export { MAX_METADATA_BYTES } from './management/session-metadata';
export type { AddItemsOptions } from './management/add-items.options';
export type { Duration } from './management/duration';
export { MAX_OPERATION_ID_LENGTH } from './history/history-transaction';
export { windowHistory } from './history/window-history';
export type { ReencryptOptions, ReencryptResult } from './encryption/reencrypt';
export type { WindowHistoryOptions } from './history/window-history';
export type {
  ConversationChange,
  ConversationChangeOrigin,
  ConversationItemsAdded,
  ConversationItemPopped,
  ConversationCleared,
} from './changes/conversation-change';
export { SessionMemoryHealthIndicator } from './health/session-memory.health';
export type { SessionMemoryHealthCheckOptions, SessionMemoryHealthResult } from './health/session-memory.health';
export { DEFAULT_TIMEOUTS } from './options/session-memory-options.resolver';
