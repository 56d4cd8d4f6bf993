import { Logger } from '@nestjs/common';

/**
 * Captures what Nest's Logger warns during the suite (registered as beforeAll / afterAll where called).
 * The returned array fills as warnings come; a test empties it with `warnings.length = 0` first.
 */
export function useLoggedWarnings(): string[] {
  const warnings: string[] = [];
  let warn: jest.SpyInstance | undefined;
  beforeAll(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
  });
  afterAll(() => {
    warn?.mockRestore();
  });
  return warnings;
}
