import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ConversationSession } from './conversation-session';
import type { SessionMemoryContext } from './session-memory.context';
import type { SessionStoreDialect } from './storage/session-store';
import { assertConversationId } from './validation';

/**
 * The store of one `SessionMemoryModule` instance (a singleton). Hands out `ConversationSession`
 * objects and manages conversations as a whole.
 *
 * ```ts
 * constructor(private readonly memory: SessionMemoryService) {}
 * const session = this.memory.session(conversationId); // no I/O
 * await run(agent, input, { session });
 * ```
 */
@Injectable()
export class SessionMemoryService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger: Logger;

  /** @internal Built by `SessionMemoryModule`. */
  constructor(
    private readonly context: SessionMemoryContext,
    private readonly source: DataSource,
    private readonly ownsDataSource: boolean,
  ) {
    this.logger = context.logger;
  }

  /**
   * The session of one conversation. Creating it does no I/O; the conversation exists in the database
   * once items are added.
   * @throws InvalidConversationIdError when the id is empty, longer than 255 characters, not a string,
   * or contains NUL or a lone surrogate.
   */
  session(conversationId: string): ConversationSession {
    assertConversationId(conversationId);
    return new ConversationSession(conversationId, this.context);
  }

  /**
   * Deletes a conversation (its items and its session row).
   * @returns whether the conversation existed.
   */
  async deleteSession(conversationId: string): Promise<boolean> {
    assertConversationId(conversationId);
    return this.context.gate.run('deleteSession', () => this.context.store.clear(conversationId));
  }

  /**
   * The TypeORM DataSource the store uses: the one the module built from `url`, or the reused one.
   * Useful for migrations and for inspecting the tables.
   */
  get dataSource(): DataSource {
    return this.source;
  }

  /** Which SQL dialect this store speaks. */
  get dialect(): SessionStoreDialect {
    return this.context.store.dialect;
  }

  /**
   * Checks that the database answers. Resolves when it does.
   * @throws SessionStorageUnavailableError when it does not.
   */
  async ping(): Promise<void> {
    await this.context.gate.run('ping', () => this.context.store.ping());
  }

  /** @internal Stops taking operations and waits for those in flight. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.context.gate.drain();
  }

  /** @internal Destroys the DataSource the module built (never a reused one). */
  async onApplicationShutdown(): Promise<void> {
    await this.context.gate.drain();
    if (this.ownsDataSource && this.source.isInitialized) {
      await this.source.destroy();
      this.logger.log('Closed the session-memory DataSource.');
    }
  }
}
