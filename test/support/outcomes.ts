import { InvalidSessionInputError, SessionStorageUnavailableError } from '../../lib';

/** How a call ended: resolved, refused with one of the package's typed errors, or anything else. */
export type Outcome<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'unavailable'; error: SessionStorageUnavailableError }
  | { kind: 'invalid'; error: InvalidSessionInputError }
  | { kind: 'other'; error: unknown };

/** Waits for a promise and classifies how it ended (never rejects). */
export async function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { kind: 'ok', value: await promise };
  } catch (error) {
    if (error instanceof SessionStorageUnavailableError) return { kind: 'unavailable', error };
    if (error instanceof InvalidSessionInputError) return { kind: 'invalid', error };
    return { kind: 'other', error };
  }
}

/**
 * Polls `probe` until `done` accepts its value, and returns that value. Gives up after `attempts`
 * polls (a hang detector, not a speed assertion) with an error naming what never happened.
 */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  attempts = 400,
  everyMs = 25,
): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await probe();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`waitFor: condition never met; last value ${JSON.stringify(last)}`);
}
