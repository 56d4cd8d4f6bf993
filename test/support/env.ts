/**
 * Saves these environment variables before the suite (beforeAll) and puts them back after it
 * (afterAll): a variable that was unset is unset again, whatever the tests set it to.
 */
export function restoreEnvAfterAll(keys: readonly string[]): void {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const key of keys) saved[key] = process.env[key];
  });
  afterAll(() => {
    for (const key of keys) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });
}
