import { InvalidManagementOptionsError } from '../exceptions';
import { SESSION_MEMORY, withoutPrefix } from '../exceptions/message-prefix';
import { PURGE_BATCH, ResolvedTtl } from '../options/session-memory-options.resolver';
import type { SessionMemoryContext } from '../session-memory.context';
import type { PurgeExpiredOptions } from '../interfaces';
import { toMilliseconds } from './duration';

/** Largest `maxBatches` of one `purgeExpired` run. */
const MAX_BATCHES = 1_000_000;

export type { PurgeExpiredOptions } from '../interfaces';

/**
 * Deletes the conversations idle for longer than `idleFor`, batch by batch, until none is left, the
 * batch limit is reached or the module shuts down. Returns how many were deleted. @internal
 */
export async function purgeExpired(context: SessionMemoryContext, options: PurgeExpiredOptions): Promise<number> {
  if (options === null || typeof options !== 'object')
    throw new InvalidManagementOptionsError('purgeExpired expects { idleFor }.');
  const idleForMs = toMilliseconds(options.idleFor, 'purgeExpired idleFor');
  const batchSize = options.batchSize ?? PURGE_BATCH.default;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > PURGE_BATCH.max) {
    throw new InvalidManagementOptionsError(
      `purgeExpired batchSize must be a whole number from 1 to ${PURGE_BATCH.max}, got ${String(batchSize)}.`,
    );
  }
  const maxBatches = options.maxBatches ?? Infinity;
  if (maxBatches !== Infinity && (!Number.isSafeInteger(maxBatches) || maxBatches < 1 || maxBatches > MAX_BATCHES)) {
    throw new InvalidManagementOptionsError(
      `purgeExpired maxBatches must be a whole number from 1 to ${MAX_BATCHES} (or left out: until none is left), got ${String(maxBatches)}.`,
    );
  }
  const { store, gate, optionalTables, changes } = context;
  let total = 0;
  for (let batch = 0; batch < maxBatches && !gate.isClosing; batch++) {
    const ids = await gate.guard('purgeExpired', () => store.purgeIdle(idleForMs, batchSize, optionalTables.current));
    total += ids.length;
    for (const conversationId of ids) await changes.conversationCleared(conversationId);
    // Only an empty batch ends the run: a short one may have skipped rows other purgers held without
    // deleting them (InnoDB locks index records beyond a batch), which a later batch can take.
    if (ids.length === 0) break;
  }
  return total;
}

/** Runs `purgeExpired` every `ttl.everyMs` (the `ttl` module option), one run at a time. @internal */
export class RetentionTimer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly context: SessionMemoryContext,
    private readonly ttl: ResolvedTtl,
  ) {}

  /** Starts the timer (idempotent) and runs once now. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.ttl.everyMs);
    this.timer.unref?.();
    this.tick();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running) return; // the previous run is still going
    const { idleForMs, everyMs, batchSize } = this.ttl;
    const { logger } = this.context;
    this.running = purgeExpired(this.context, { idleFor: idleForMs, batchSize })
      .then((n) => {
        if (n > 0)
          logger.log(`${SESSION_MEMORY}: ttl deleted ${n} conversation(s) idle for more than ${idleForMs} ms.`);
      })
      .catch((err) =>
        logger.warn(
          `${SESSION_MEMORY}: ttl could not purge idle conversations (${withoutPrefix((err as Error).message)}); retrying in ${everyMs} ms.`,
        ),
      )
      .finally(() => {
        this.running = undefined;
      });
  }
}
