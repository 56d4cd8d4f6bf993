/** Declared with the public types (lib/interfaces). */
export type {
  ConversationChange,
  ConversationChangeOrigin,
  ConversationCleared,
  ConversationItemPopped,
  ConversationItemsAdded,
} from '../interfaces/conversation-change.interface';
