import { SessionMemoryConfigurationError } from '../../lib';
import { HISTORY_CACHE_BYTES, resolveHistoryCache } from '../../lib/options/history-cache.option';
import { describeEachDialect } from '../support/databases';
import { startMemory, urlFor } from '../support/memory';

/** The `historyCache` option: off by default, `true` or `{ maxBytes }`, bad values refused with a typed error. */
describe('historyCache option', () => {
  it('is off unless given', () => {
    expect(resolveHistoryCache(undefined, undefined)).toBeUndefined();
    expect(resolveHistoryCache(false, undefined)).toBeUndefined();
    expect(resolveHistoryCache(null, undefined)).toBeUndefined();
  });

  it('takes true (64 MiB) or { maxBytes }', () => {
    expect(resolveHistoryCache(true, undefined)).toEqual({ maxBytes: 64 * 1024 * 1024 });
    expect(resolveHistoryCache({}, undefined)).toEqual({ maxBytes: 64 * 1024 * 1024 });
    expect(resolveHistoryCache({ maxBytes: 65536 }, undefined)).toEqual({ maxBytes: 65536 });
    expect(resolveHistoryCache({ maxBytes: 2 ** 40 }, { keys: 'k' })).toEqual({ maxBytes: 2 ** 40 });
  });

  it.each([
    ['a string', 'yes'],
    ['an array', []],
    ['a number', 5],
    ['maxBytes below 64 KiB', { maxBytes: HISTORY_CACHE_BYTES.min - 1 }],
    ['maxBytes above 2^40', { maxBytes: 2 ** 40 + 1 }],
    ['fractional maxBytes', { maxBytes: 100000.5 }],
    ['negative maxBytes', { maxBytes: -1 }],
    ['maxBytes as text', { maxBytes: '1000000' }],
  ])('refuses %s', (_what, value) => {
    expect(() => resolveHistoryCache(value as never, undefined)).toThrow(SessionMemoryConfigurationError);
  });

  it('refuses encryption.ttl (a cached item would outlive its expiry)', () => {
    expect(() => resolveHistoryCache(true, { keys: 'k', ttl: 60 })).toThrow(/encryption\.ttl/);
  });
});

describeEachDialect(
  'historyCache option at startup',
  (dialect, url) => {
    it('refuses a bad value before connecting', async () => {
      await expect(startMemory(urlFor(dialect, url), { historyCache: { maxBytes: 10 } })).rejects.toBeInstanceOf(
        SessionMemoryConfigurationError,
      );
    });
  },
  ['sqlite'],
);
