import type { Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'crypto';
import type { NotificationChannel, ResolvedTables } from '../storage/session-store';
import { assertConversationId } from '../validation/conversation-id';
import type { ChangeRelay, RemoteChange } from './change-relay';
import { RateLimitedWarning } from './rate-limited-warning';

const KINDS = { added: 'a', popped: 'p', cleared: 'c' } as const;
const KIND_OF: Record<string, RemoteChange['type']> = { a: 'added', p: 'popped', c: 'cleared' };

/**
 * Longest payload accepted, in characters. Ours stay below 1,600: a conversation id of at most 255
 * characters (JSON-escaped, at most 6 characters each), an instance id and two short fields.
 * PostgreSQL allows up to 8,000 bytes; anything longer than ours is not ours.
 */
export const MAX_NOTIFICATION_CHARS = 2048;

/** An instance id as `randomBytes(6).toString('base64url')` makes them (a little more is accepted). */
const INSTANCE_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * How long the LISTEN connection is kept after the last subscriber left: a subscriber arriving
 * meanwhile (an SSE client reconnecting) reuses it instead of opening another.
 * @internal
 */
export const LISTEN_IDLE_CLOSE_MS = 1000;

/** The NOTIFY channel of one pair of tables: every instance on the same tables shares it. @internal */
export function changeChannel(tables: ResolvedTables): string {
  const digest = createHash('sha256')
    .update(`${tables.schema ?? ''}.${tables.sessions}.${tables.messages}`)
    .digest('hex');
  return `nsm_changes_${digest.slice(0, 24)}`;
}

/** A notification's payload, checked: who sent it and what it hints at, or why it was refused. @internal */
export type ParsedNotification = { ok: true; instance: string; change: RemoteChange } | { ok: false; reason: string };

/**
 * Checks one payload field by field: `i` an instance id, `c` a valid conversation id, `k` one of
 * `a`/`p`/`c`, `n` a whole number from 0 (1 for `a` and `p`) to `maxCount`. Other fields are
 * ignored (within the length bound), so that a later version may add some.
 * @internal
 */
export function parseChangeNotification(payload: string, maxCount: number): ParsedNotification {
  if (typeof payload !== 'string' || payload.length > MAX_NOTIFICATION_CHARS) {
    return { ok: false, reason: `longer than ${MAX_NOTIFICATION_CHARS} characters` };
  }
  let message: unknown;
  try {
    message = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const { i, c, k, n } = message as Record<string, unknown>;
  if (typeof i !== 'string' || !INSTANCE_ID.test(i)) return { ok: false, reason: 'no valid instance id "i"' };
  const type = typeof k === 'string' ? KIND_OF[k] : undefined;
  if (!type) return { ok: false, reason: 'kind "k" is not "a", "p" or "c"' };
  try {
    assertConversationId(c);
  } catch {
    return { ok: false, reason: 'conversation id "c" is not a valid conversation id' };
  }
  const least = type === 'cleared' ? 0 : 1;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < least || n > maxCount) {
    return {
      ok: false,
      reason: `count "n" is not a whole number from ${least} to ${maxCount} (limits.maxItemsPerCall; instances sharing tables should use the same value)`,
    };
  }
  return { ok: true, instance: i, change: { conversationId: c, type, count: n } };
}

/**
 * Relays changes between instances through PostgreSQL LISTEN/NOTIFY. One dedicated connection (not
 * one of the pool's) LISTENs while this process has at least one subscriber: at most one at any
 * time, opened on first need, kept for `LISTEN_IDLE_CLOSE_MS` after the last subscriber left, closed
 * at shutdown; reconnected with backoff after a failure. Every payload is checked
 * (`parseChangeNotification`) before it reaches the hub, which treats it as a hint only: any role
 * that can connect may NOTIFY the channel. Malformed ones are dropped with a rate-limited warning.
 * Notifications sent by this instance are ignored on receipt (local subscribers already had them).
 * @internal
 */
export class PostgresChangeRelay implements ChangeRelay {
  private readonly instanceId = randomBytes(6).toString('base64url');
  private readonly channel: string;
  private readonly malformed: RateLimitedWarning;
  private onRemote: ((change: RemoteChange) => void) | undefined;
  /** Some subscriber wants the connection. */
  private wanted = false;
  /** Shut down: never open again. */
  private stopped = false;
  /** The open connection, and the token its failure callback compares against. */
  private current: { close(): Promise<void> } | undefined;
  private currentToken: object | undefined;
  /** An open or a close is in progress; `settled` resolves when it is over. */
  private busy = false;
  private settled: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = 250;

  constructor(
    private readonly pg: NotificationChannel,
    tables: ResolvedTables,
    private readonly logger: Logger,
    /** The largest count a notification may carry (the module's `limits.maxItemsPerCall`). */
    private readonly maxCount: number,
  ) {
    this.channel = changeChannel(tables);
    this.malformed = new RateLimitedWarning(
      logger,
      (reason) =>
        `Dropped a malformed change notification on channel ${this.channel} (${reason}). Notifications are only hints, ` +
        'and any database role that can connect may NOTIFY this channel: if some other program sends them, stop it, ' +
        'or restrict who may connect. Further ones are counted and reported at most once a minute.',
      (count, reason) =>
        `Dropped ${count} more malformed change notifications on channel ${this.channel} in the last minute (the last: ${reason}).`,
    );
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
    if (this.stopped) return;
    this.onRemote = onRemote;
    this.wanted = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.drive();
  }

  release(): void {
    this.wanted = false;
    if (this.stopped) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.drive();
    }, LISTEN_IDLE_CLOSE_MS);
    this.idleTimer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wanted = false;
    for (const timer of [this.idleTimer, this.retryTimer]) if (timer) clearTimeout(timer);
    this.idleTimer = this.retryTimer = undefined;
    this.malformed.close();
    while (this.busy || this.current) {
      this.drive();
      await this.settled;
    }
  }

  /** Opens or closes the one connection as wanted; never runs two opens or closes at once. */
  private drive(): void {
    if (this.busy) return; // driven again when the open or close in progress is over
    if (this.wanted && !this.stopped && !this.current && !this.retryTimer) this.run(this.open());
    else if (!this.wanted && this.current && (this.stopped || !this.idleTimer)) this.run(this.close());
  }

  private run(work: Promise<void>): void {
    this.busy = true;
    this.settled = work.finally(() => {
      this.busy = false;
      this.drive();
    });
  }

  private async open(): Promise<void> {
    const token = {};
    try {
      const handle = await this.pg.listen(
        this.channel,
        (payload) => this.receive(payload),
        (err) => this.lost(token, err),
      );
      this.current = handle;
      this.currentToken = token;
      this.retryDelay = 250;
    } catch (err) {
      this.retry(err as Error);
    }
  }

  private async close(): Promise<void> {
    const handle = this.current;
    this.current = this.currentToken = undefined;
    await handle?.close().catch(() => undefined);
  }

  /** The open connection failed later: it is gone; reconnect if still wanted. */
  private lost(token: object, err: Error): void {
    if (this.currentToken !== token) return; // failed while opening: `open` handles it
    const handle = this.current;
    this.current = this.currentToken = undefined;
    void handle?.close().catch(() => undefined);
    this.retry(err);
  }

  private retry(err: Error): void {
    if (!this.wanted || this.stopped) return;
    this.logger.warn(
      `The change listener connection failed (${err.message}); reconnecting in ${this.retryDelay} ms. Changes made meanwhile by other instances are not reported.`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drive();
    }, this.retryDelay);
    this.retryTimer.unref?.();
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
  }

  /** Called by the driver for each notification: must never throw (it would break the connection). */
  private receive(payload: string): void {
    try {
      const parsed = parseChangeNotification(payload, this.maxCount);
      if (!parsed.ok) {
        this.malformed.note(parsed.reason);
        return;
      }
      if (parsed.instance === this.instanceId) return;
      this.onRemote?.(parsed.change);
    } catch (err) {
      this.malformed.note(`could not be handled: ${(err as Error).message}`);
    }
  }
}
