/** Declared with the public types (lib/interfaces). */
export type { UnownedConversations } from '../interfaces/session-memory-options.interface';
