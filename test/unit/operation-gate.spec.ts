import { SessionStorageError, SessionStorageUnavailableError } from '../../lib';
import { OperationGate } from '../../lib/storage/operation-gate';

describe('OperationGate', () => {
  it('returns what the work returns and maps driver errors to typed ones', async () => {
    const gate = new OperationGate();
    await expect(gate.guard('getItems', async () => 7)).resolves.toBe(7);
    await expect(
      gate.guard('addItems', async () => {
        throw Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
      }),
    ).rejects.toThrow(SessionStorageError);
  });

  it('drain() waits for operations in flight, then refuses new ones', async () => {
    const gate = new OperationGate();
    let finish!: () => void;
    let finished = false;
    const running = gate.guard('popItem', () =>
      new Promise<void>((resolve) => (finish = resolve)).then(() => void (finished = true)),
    );
    let drained = false;
    const draining = gate.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    expect(gate.isClosing).toBe(true);
    await expect(gate.guard('addItems', async () => 'ran')).rejects.toThrow(SessionStorageUnavailableError);
    finish();
    await running;
    await draining;
    expect(finished).toBe(true);
    expect(drained).toBe(true);
  });

  it('drain() with nothing in flight resolves at once, every time it is called', async () => {
    const gate = new OperationGate();
    await gate.drain();
    await gate.drain();
    await expect(gate.guard('ping', async () => undefined)).rejects.toThrow(
      /ping refused: the application is shutting down/,
    );
  });
});

describe('OperationGate: abandoned operations', () => {
  it('drain() does not wait for an operation whose caller gave up on it (its signal aborted)', async () => {
    const gate = new OperationGate();
    const abandoned = new AbortController();
    let finish!: () => void;
    const running = gate.guard('ping', () => new Promise<void>((resolve) => (finish = resolve)), abandoned.signal);
    let drained = false;
    const draining = gate.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false); // still awaited: nobody gave up yet
    abandoned.abort();
    await draining;
    expect(drained).toBe(true);
    finish();
    await running; // its own caller still gets its outcome
  });

  it('counts an operation once, whether it ends before or after being abandoned', async () => {
    const gate = new OperationGate();
    const early = new AbortController();
    await gate.guard('ping', async () => undefined, early.signal);
    early.abort(); // after it ended: no effect
    const late = new AbortController();
    let finish!: () => void;
    const running = gate.guard('ping', () => new Promise<void>((resolve) => (finish = resolve)), late.signal);
    const other = gate.guard('getItems', () => new Promise<void>((resolve) => setTimeout(resolve, 20)));
    late.abort();
    let drained = false;
    const draining = gate.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false); // `other` is still running and was not abandoned
    await other;
    await draining;
    finish();
    await running;
  });
});
