import { SessionMemoryConfigurationError, SessionStorageUnavailableError } from '../../lib';
import { resolveConcurrencyLimits } from '../../lib/options/session-memory-options.resolver';
import { ConversationLimiter } from '../../lib/storage/conversation-limiter';

/** A promise with its resolve and reject, to hold work open. */
function gate() {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { open, fail, opened };
}

/** Lets every pending promise callback run (the limiter hands turns over through promises). */
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('ConversationLimiter', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs at most maxActive per conversation and starts the waiting calls in the order they came', async () => {
    const limiter = new ConversationLimiter(2, 100, 0);
    const holds = Array.from({ length: 8 }, () => gate());
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const calls = holds.map((hold, i) =>
      limiter.run('c', 'op', async () => {
        started.push(i);
        peak = Math.max(peak, ++running);
        await hold.opened;
        running--;
        return i;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    // Finish them out of order: each finished one hands its turn to the longest-waiting call.
    holds[1].open();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    holds[0].open();
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const hold of holds) hold.open();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(2);
  });

  it('lets a burst of 10,000 calls on one conversation all complete, in order, never more than maxActive at once', async () => {
    const limiter = new ConversationLimiter(2, 100_000, 5_000);
    const order: number[] = [];
    let running = 0;
    let peak = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 10_000 }, (_, i) =>
        limiter.run('c', 'addItems', async () => {
          peak = Math.max(peak, ++running);
          order.push(i);
          await Promise.resolve();
          running--;
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);
    expect(order).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(peak).toBe(2);
  });

  it('past maxQueued waiting calls (the memory cap), a call fails at once, naming the conversation', async () => {
    const limiter = new ConversationLimiter(1, 2, 0);
    const hold = gate();
    const calls = Array.from({ length: 5 }, (_, i) => limiter.run('c', 'op', () => hold.opened.then(() => i)));
    const settled = Promise.allSettled(calls);
    await flush();
    hold.open();
    const results = await settled;
    expect(results.slice(0, 3).map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual([0, 1, 2]);
    for (const r of results.slice(3)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SessionStorageUnavailableError);
      expect(String((r as PromiseRejectedResult).reason.message)).toContain(
        'conversation "c" is busy (1 operations are running and 2 waiting)',
      );
    }
  });

  it('keeps conversations apart: a full one does not slow another', async () => {
    const limiter = new ConversationLimiter(1, 0, 0);
    const hold = gate();
    const stuck = limiter.run('a', 'op', () => hold.opened);
    await expect(limiter.run('a', 'op', async () => 1)).rejects.toBeInstanceOf(SessionStorageUnavailableError);
    await expect(limiter.run('b', 'op', async () => 2)).resolves.toBe(2);
    hold.open();
    await stuck;
    await expect(limiter.run('a', 'op', async () => 3)).resolves.toBe(3);
  });

  it('a waiting call fails after maxWaitMs without progress of its conversation (stuck), and the queue moves on', async () => {
    jest.useFakeTimers();
    const limiter = new ConversationLimiter(1, 100, 1_000);
    const hold = gate();
    const stuck = limiter.run('a', 'op', () => hold.opened);
    const early = limiter.run('a', 'popItem', async () => 1);
    const earlyOutcome = early.then(
      () => 'ran',
      (err: Error) => err,
    );
    await jest.advanceTimersByTimeAsync(600);
    const late = limiter.run('a', 'op', async () => 2);
    await jest.advanceTimersByTimeAsync(399);
    expect(await Promise.race([earlyOutcome, Promise.resolve('pending')])).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    const err = await earlyOutcome;
    expect(err).toBeInstanceOf(SessionStorageUnavailableError);
    expect((err as Error).message).toContain('popItem refused: conversation "a" is busy');
    expect((err as Error).message).toContain('1000 ms (timeouts.lockMs)');
    // The later one has waited 400 ms of its own 1,000: the lock comes free, it runs.
    hold.open();
    await stuck;
    await expect(late).resolves.toBe(2);
  });

  it('a waiting call keeps waiting past maxWaitMs while its conversation makes progress', async () => {
    jest.useFakeTimers();
    const limiter = new ConversationLimiter(1, 100, 1_000);
    const holds = Array.from({ length: 6 }, () => gate());
    const calls = holds.map((hold, i) => limiter.run('a', 'op', () => hold.opened.then(() => i)));
    const outcomes = calls.map((c) =>
      c.then(
        (v) => v,
        (err: Error) => err,
      ),
    );
    // Each operation takes 700 ms: the last call waits 3.5 s in all, never 1 s without progress.
    for (const hold of holds) {
      await jest.advanceTimersByTimeAsync(700);
      hold.open();
    }
    expect(await Promise.all(outcomes)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a failed operation is no progress: the waiting calls still fail maxWaitMs after they came, but it gives its turn back', async () => {
    jest.useFakeTimers();
    const limiter = new ConversationLimiter(1, 100, 1_000);
    const first = gate();
    const failing = limiter.run('a', 'op', () => first.opened);
    const failingOutcome = failing.catch((err: Error) => err);
    const second = gate();
    const next = limiter.run('a', 'op', () => second.opened.then(() => 'second'));
    const nextOutcome = next.catch((err: Error) => err);
    const third = limiter.run('a', 'op', async () => 'third');
    const thirdOutcome = third.catch((err: Error) => err);
    await jest.advanceTimersByTimeAsync(500);
    first.fail(new Error('lock wait timeout'));
    expect(((await failingOutcome) as Error).message).toBe('lock wait timeout');
    await jest.advanceTimersByTimeAsync(499); // `next` got the turn; `third` still waits, 999 ms without progress
    expect(await Promise.race([thirdOutcome, Promise.resolve('pending')])).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(await thirdOutcome).toBeInstanceOf(SessionStorageUnavailableError);
    second.open();
    expect(await nextOutcome).toBe('second');
    await expect(limiter.run('a', 'op', async () => 'ok')).resolves.toBe('ok');
  });

  it('while its operations fail (stuck behind a foreign lock), a conversation runs one at a time, and two again after a success', async () => {
    const limiter = new ConversationLimiter(2, 100, 0);
    let running = 0;
    const peaks: number[] = [];
    const holds: ReturnType<typeof gate>[] = [];
    const call = () =>
      limiter
        .run('stuck', 'op', async () => {
          const hold = gate();
          holds.push(hold);
          peaks.push(++running);
          try {
            await hold.opened;
          } finally {
            running--;
          }
        })
        .catch(() => 'failed');
    const calls = Array.from({ length: 6 }, call);
    await flush();
    expect(holds).toHaveLength(2); // healthy so far: two at a time
    holds[0].fail(new Error('lock wait timeout'));
    holds[1].fail(new Error('lock wait timeout'));
    await flush();
    expect(holds).toHaveLength(3); // failing: only one of the two turns is handed on
    holds[2].fail(new Error('lock wait timeout'));
    await flush();
    expect(holds).toHaveLength(4);
    expect(running).toBe(1);
    holds[3].open(); // the lock is gone: a success
    await flush();
    expect(holds).toHaveLength(6); // two at a time again
    expect(running).toBe(2);
    holds[4].open();
    holds[5].open();
    expect(await Promise.all(calls)).toEqual(['failed', 'failed', 'failed', undefined, undefined, undefined]);
    expect(Math.max(...peaks.slice(2, 4))).toBe(1);
  });

  it('a failing operation gives its turn back', async () => {
    const limiter = new ConversationLimiter(1, 0, 0);
    await expect(limiter.run('a', 'op', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run('a', 'op', async () => 'ok')).resolves.toBe('ok');
  });
});

describe('limits.maxQueuedPerConversation', () => {
  it('is a memory cap far above a burst by default (100,000), and stays configurable', () => {
    expect(resolveConcurrencyLimits({})).toEqual({
      maxConcurrentPerConversation: 2,
      maxQueuedPerConversation: 100_000,
    });
    expect(resolveConcurrencyLimits({ limits: { maxQueuedPerConversation: 0 } }).maxQueuedPerConversation).toBe(0);
    expect(resolveConcurrencyLimits({ limits: { maxQueuedPerConversation: 1_000_000 } }).maxQueuedPerConversation).toBe(
      1_000_000,
    );
  });

  it.each([-1, 1.5, Number.NaN, 10_000_001, '10' as unknown as number])('refuses %p with a typed error', (v) => {
    expect(() => resolveConcurrencyLimits({ limits: { maxQueuedPerConversation: v } })).toThrow(
      SessionMemoryConfigurationError,
    );
    expect(() => resolveConcurrencyLimits({ limits: { maxQueuedPerConversation: v } })).toThrow(
      /limits\.maxQueuedPerConversation .*whole number from 0 to 10000000/,
    );
  });
});
