import { KeyedMutex } from '../../lib/storage/keyed-mutex';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('runs the work of one key one at a time, in call order', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const job = (name: string) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      active--;
      return name;
    };
    const results = await Promise.all(['a', 'b', 'c'].map((n) => mutex.exclusive('k', job(n))));
    expect(results).toEqual(['a', 'b', 'c']);
    expect(maxActive).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs different keys concurrently', async () => {
    const mutex = new KeyedMutex();
    let release!: () => void;
    const blocked = mutex.exclusive('one', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(mutex.exclusive('two', async () => 'ran')).resolves.toBe('ran');
    release();
    await blocked;
  });

  it('goes on with the next work after a failure, and passes the failure to its caller', async () => {
    const mutex = new KeyedMutex();
    const failing = mutex.exclusive('k', async () => {
      throw new Error('first failed');
    });
    const next = mutex.exclusive('k', async () => 'second ran');
    await expect(failing).rejects.toThrow('first failed');
    await expect(next).resolves.toBe('second ran');
  });

  it('keeps no entry for a key once its work is done', async () => {
    const mutex = new KeyedMutex();
    await mutex.exclusive('k', async () => undefined);
    await tick();
    expect((mutex as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
  });
});
