import { ConversationSession, SessionMemoryService } from '../../lib';
import { user } from './items';

/**
 * Every I/O entry point of the service and of `session` (one of its sessions), named: getItems() and
 * getItems(limit), addItems (one user message of `text`), popItem, clearSession, deleteSession (of the
 * session's conversation), ping.
 * For specs asserting how each one fails when the database is out of reach.
 */
export function everyIoCall(
  memory: SessionMemoryService,
  session: ConversationSession,
  { limit, text }: { limit: number; text: string },
): [string, () => Promise<unknown>][] {
  return [
    ['getItems()', () => session.getItems()],
    [`getItems(${limit})`, () => session.getItems(limit)],
    ['addItems', () => session.addItems([user(text)])],
    ['popItem', () => session.popItem()],
    ['clearSession', () => session.clearSession()],
    ['deleteSession', () => memory.deleteSession(session.conversationId)],
    ['ping', () => memory.ping()],
  ];
}
