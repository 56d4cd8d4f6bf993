import type { Session } from '@openai/agents-core';
import type { SessionItem } from './interfaces';
import type { SessionMemoryContext } from './session-memory.context';
import type { StoredRow } from './storage/session-store';
import { assertLimit, encodeItems } from './validation';

/**
 * The stored history of one conversation, implementing the OpenAI Agents SDK `Session` contract:
 * pass it as `run(agent, input, { session })`. Get one from `SessionMemoryService.session(id)`
 * (no I/O) or inject the current request's with `@InjectConversationSession()` / `@Conversation()`.
 *
 * Items are kept in insertion order (ordered by row id, never by timestamp). A stored row that is not a
 * JSON object is skipped with a warning and does not count towards `limit`.
 */
export class ConversationSession implements Session {
  /** @internal Use `SessionMemoryService.session(id)`. */
  constructor(
    /** The conversation id (validated). */
    readonly conversationId: string,
    private readonly context: SessionMemoryContext,
  ) {}

  /** Returns the conversation id. */
  async getSessionId(): Promise<string> {
    return this.conversationId;
  }

  /**
   * Returns the newest `limit` items in chronological order (oldest first); all items when `limit`
   * is left out (or the module's `defaultLimit` when one is set); `[]` for 0.
   * @throws InvalidLimitError for a negative or fractional limit.
   */
  async getItems(limit?: number): Promise<SessionItem[]> {
    const n = limit === undefined ? this.context.defaultLimit : limit;
    assertLimit(n);
    if (n === 0) return [];
    const { store, gate } = this.context;
    return gate.run('getItems', async () => {
      if (n === undefined) return this.decodeRows(await store.readAll(this.conversationId));
      const newestFirst: SessionItem[] = [];
      let before: number | string | undefined;
      for (;;) {
        const want = n - newestFirst.length;
        const rows = await store.readNewest(this.conversationId, want, before);
        for (const row of rows) {
          const item = this.decode(row);
          if (item) newestFirst.push(item);
        }
        // Only a corrupt row makes a batch come up short of valid items: then read on, older.
        if (rows.length < want || newestFirst.length >= n) break;
        before = rows[rows.length - 1].id;
      }
      return newestFirst.reverse();
    });
  }

  /**
   * Appends items atomically (all or none), in order. Every item is checked first; a bad one throws
   * `InvalidSessionItemsError` and nothing is written.
   */
  async addItems(items: SessionItem[]): Promise<void> {
    const encoded = encodeItems(items, this.context.limits);
    if (encoded.length === 0) return;
    await this.context.gate.run('addItems', () => this.context.store.append(this.conversationId, encoded));
  }

  /**
   * Removes and returns the newest item, or `undefined` when the conversation is empty. Under
   * concurrency each item is returned to exactly one caller. A corrupt newest row is removed and
   * skipped (with a warning).
   */
  async popItem(): Promise<SessionItem | undefined> {
    const { store, gate } = this.context;
    return gate.run('popItem', async () => {
      for (;;) {
        const row = await store.popNewest(this.conversationId);
        if (!row) return undefined;
        const item = this.decode(row);
        if (item) return item;
      }
    });
  }

  /** Deletes every item of the conversation and its session row. */
  async clearSession(): Promise<void> {
    await this.context.gate.run('clearSession', () => this.context.store.clear(this.conversationId));
  }

  private decodeRows(rows: StoredRow[]): SessionItem[] {
    const items: SessionItem[] = [];
    for (const row of rows) {
      const item = this.decode(row);
      if (item) items.push(item);
    }
    return items;
  }

  private decode(row: StoredRow): SessionItem | undefined {
    let value: unknown;
    try {
      value = JSON.parse(row.message_data);
    } catch {
      value = undefined;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as SessionItem;
    this.context.logger.warn(
      `Skipping corrupt row id=${row.id} of conversation ${JSON.stringify(this.conversationId)}: message_data is not a JSON object.`,
    );
    return undefined;
  }
}
