import { SessionStorageUnavailableError } from '../../lib';
import { ConversationLimiter } from '../../lib/storage/conversation-limiter';

/** A promise with its resolve, to hold work open. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('ConversationLimiter', () => {
  it('runs at most maxActive per conversation, queues maxQueued more in order, refuses the rest at once', async () => {
    const limiter = new ConversationLimiter(2, 2, 0);
    const hold = gate();
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const calls = Array.from({ length: 6 }, (_, i) =>
      limiter.run('c', 'op', async () => {
        started.push(i);
        peak = Math.max(peak, ++running);
        await hold.opened;
        running--;
        return i;
      }),
    );
    const settled = Promise.allSettled(calls);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    hold.open();
    const results = await settled;
    expect(results.slice(0, 4).map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual([0, 1, 2, 3]);
    for (const r of results.slice(4)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SessionStorageUnavailableError);
      expect(String((r as PromiseRejectedResult).reason.message)).toContain('"c" is busy');
    }
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3]);
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

  it('a queued call that gets no turn within maxWaitMs fails, and frees its place in the queue', async () => {
    const limiter = new ConversationLimiter(1, 1, 30);
    const hold = gate();
    const stuck = limiter.run('a', 'op', () => hold.opened);
    await expect(limiter.run('a', 'op', async () => 1)).rejects.toThrow(/no turn came within 30 ms/);
    const next = limiter.run('a', 'op', async () => 2); // the queue has room again
    hold.open();
    await stuck;
    await expect(next).resolves.toBe(2);
  });

  it('a failing operation gives its turn back', async () => {
    const limiter = new ConversationLimiter(1, 0, 0);
    await expect(limiter.run('a', 'op', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run('a', 'op', async () => 'ok')).resolves.toBe('ok');
  });
});
