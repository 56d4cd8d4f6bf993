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
export * from './exceptions';
export { createSessionMemoryMigration, createSessionMemoryUpgradeMigration } from './migrations';
export type { SessionMemoryMigrationClass, SessionMemoryMigrationOptions } from './migrations';
