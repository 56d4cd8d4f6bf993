import { SessionMemoryService } from './session-memory.service';

/** Name of the default (unnamed) module instance. */
export const DEFAULT_SESSION_MEMORY_NAME = 'default';

/** Header read by default for the request's conversation id. */
export const DEFAULT_CONVERSATION_ID_HEADER = 'x-conversation-id';

/** Injection token of the resolved options of a module instance. */
export function getSessionMemoryOptionsToken(name?: string): string {
  return `SESSION_MEMORY_OPTIONS:${name ?? DEFAULT_SESSION_MEMORY_NAME}`;
}

/**
 * Injection token of the `SessionMemoryService` of a module instance: the class itself for the default
 * instance (so it can be injected by type), a string for named ones.
 */
export function getSessionMemoryToken(name?: string): string | typeof SessionMemoryService {
  return !name || name === DEFAULT_SESSION_MEMORY_NAME ? SessionMemoryService : `SessionMemoryService:${name}`;
}

/** Injection token of the request-scoped `ConversationSession` of a module instance. */
export function getConversationSessionToken(name?: string): string {
  return `ConversationSession:${name ?? DEFAULT_SESSION_MEMORY_NAME}`;
}
