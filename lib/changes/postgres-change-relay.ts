import type { Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'crypto';
import type { NotificationChannel, ResolvedTables } from '../storage/session-store';
import type { ChangeRelay, RemoteChange } from './change-hub';

/** PostgreSQL's NOTIFY payload limit is 8000 bytes; ours stay far below (id ≤ 255 chars + a few fields). */
const KINDS = { added: 'a', popped: 'p', cleared: 'c' } as const;
const KIND_OF: Record<string, RemoteChange['type']> = { a: 'added', p: 'popped', c: 'cleared' };

/** The NOTIFY channel of one pair of tables: every instance on the same tables shares it. @internal */
export function changeChannel(tables: ResolvedTables): string {
  const digest = createHash('sha256')
    .update(`${tables.schema ?? ''}.${tables.sessions}.${tables.messages}`)
    .digest('hex');
  return `nsm_changes_${digest.slice(0, 24)}`;
}

/**
 * Relays changes between instances through PostgreSQL LISTEN/NOTIFY. A dedicated connection (not
 * one of the pool's) LISTENs while this process has at least one subscriber; it reconnects with
 * backoff after a failure and is closed when the last subscriber leaves and at shutdown.
 * Notifications sent by this instance are ignored on receipt (local subscribers already had them).
 * @internal
 */
export class PostgresChangeRelay implements ChangeRelay {
  private readonly instanceId = randomBytes(6).toString('base64url');
  private readonly channel: string;
  private wanted = false;
  private connection: Promise<{ close(): Promise<void> } | undefined> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = 250;
  private onRemote: ((change: RemoteChange) => void) | undefined;

  constructor(
    private readonly pg: NotificationChannel,
    tables: ResolvedTables,
    private readonly logger: Logger,
  ) {
    this.channel = changeChannel(tables);
  }

  async publish(change: RemoteChange): Promise<void> {
    const payload = JSON.stringify({
      i: this.instanceId,
      c: change.conversationId,
      k: KINDS[change.type],
      n: change.count,
    });
    await this.pg.notify(this.channel, payload);
  }

  start(onRemote: (change: RemoteChange) => void): void {
    this.onRemote = onRemote;
    this.wanted = true;
    if (!this.connection && !this.retryTimer) this.connect();
  }

  async stop(): Promise<void> {
    this.wanted = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const pending = this.connection;
    this.connection = undefined;
    const handle = await pending?.catch(() => undefined);
    await handle?.close();
  }

  private connect(): void {
    const attempt = this.pg
      .listen(
        this.channel,
        (payload) => this.receive(payload),
        (err) => this.lost(attempt, err),
      )
      .then(
        (handle) => {
          this.retryDelay = 250;
          return handle;
        },
        (err: Error) => {
          this.lost(attempt, err);
          return undefined;
        },
      );
    this.connection = attempt;
    // Subscribers may all have left while connecting: close at once.
    void attempt.then((handle) => {
      if (!this.wanted && this.connection === attempt) {
        this.connection = undefined;
        void handle?.close();
      }
    });
  }

  private lost(attempt: Promise<unknown>, err: Error): void {
    if (this.connection !== attempt) return;
    this.connection = undefined;
    if (!this.wanted) return;
    this.logger.warn(
      `The change listener connection failed (${err.message}); reconnecting in ${this.retryDelay} ms. Changes made meanwhile by other instances are not reported.`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.wanted) this.connect();
    }, this.retryDelay);
    this.retryTimer.unref?.();
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
  }

  private receive(payload: string): void {
    let message: { i?: unknown; c?: unknown; k?: unknown; n?: unknown };
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    if (message.i === this.instanceId || typeof message.c !== 'string' || typeof message.k !== 'string') return;
    const type = KIND_OF[message.k];
    if (!type) return;
    this.onRemote?.({ conversationId: message.c, type, count: typeof message.n === 'number' ? message.n : 0 });
  }
}
