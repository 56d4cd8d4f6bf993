import { FernetKey } from '../../lib/encryption/fernet';
import { EncryptingCodec } from '../../lib/encryption/item-codec';
import { OpenedEnvelopeCache } from '../../lib/encryption/opened-cache';
import { resolveCodec } from '../../lib/options/session-memory-options.resolver';
import { SessionMemoryConfigurationError } from '../../lib/exceptions';

const KEYS = ['a passphrase for the cache tests'];
const text = (i: number) => JSON.stringify({ role: 'user', content: `message ${i}` });

describe('the cache of opened envelopes', () => {
  let opens: jest.SpyInstance;
  beforeEach(() => (opens = jest.spyOn(FernetKey.prototype, 'open')));
  afterEach(() => jest.restoreAllMocks());

  it('opens a stored envelope once, then serves its plaintext from the cache', () => {
    const writer = new EncryptingCodec(KEYS, undefined, false, 0);
    const [stored] = writer.seal('c1', [text(1)]);
    const reader = new EncryptingCodec(KEYS);
    expect(reader.open('c1', stored)).toBe(text(1));
    expect(reader.open('c1', stored)).toBe(text(1));
    expect(reader.keyIndex('c1', stored)).toBe(0);
    expect(reader.mustKeep('c1', stored)).toBe(false);
    expect(opens).toHaveBeenCalledTimes(1);
  });

  it('knows what it sealed without decrypting it', () => {
    const codec = new EncryptingCodec(KEYS);
    const [stored] = codec.seal('c1', [text(2)]);
    expect(codec.open('c1', stored)).toBe(text(2));
    expect(opens).not.toHaveBeenCalled();
  });

  it('does not open a cached token copied into another conversation', () => {
    const codec = new EncryptingCodec(KEYS);
    const [stored] = codec.seal('c1', [text(3)]);
    expect(codec.open('c1', stored)).toBe(text(3));
    expect(codec.open('c2', stored)).toBeUndefined();
    expect(codec.mustKeep('c2', stored)).toBe(true);
    expect(codec.keyIndex('c2', stored)).toBeUndefined();
  });

  it('never serves a cached plaintext for an altered envelope that ends like a cached one', () => {
    const codec = new EncryptingCodec(KEYS);
    const [stored] = codec.seal('c1', [text(6)]);
    const at = stored.indexOf('payload') + 30; // inside the token, far from its MAC at the end
    const altered = stored.slice(0, at) + (stored[at] === 'A' ? 'B' : 'A') + stored.slice(at + 1);
    expect(codec.open('c1', stored)).toBe(text(6));
    expect(codec.open('c1', altered)).toBeUndefined();
    expect(codec.mustKeep('c1', altered)).toBe(true);
  });

  it('still applies the ttl on a hit', () => {
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    const codec = new EncryptingCodec(KEYS, 60);
    const [stored] = codec.seal('c1', [text(4)]);
    expect(codec.open('c1', stored)).toBe(text(4));
    clock.mockReturnValue(now + 120_000);
    expect(codec.open('c1', stored)).toBeUndefined();
    expect(codec.keyIndex('c1', stored)).toBeUndefined();
    expect(codec.mustKeep('c1', stored)).toBe(false); // only expired
  });

  it('with cacheBytes 0 keeps nothing: every read decrypts', () => {
    const codec = new EncryptingCodec(KEYS, undefined, false, 0);
    const [stored] = codec.seal('c1', [text(5)]);
    codec.open('c1', stored);
    codec.open('c1', stored);
    expect(opens).toHaveBeenCalledTimes(2);
  });

  it('stays within its byte bound, least recently used out first, and skips entries too large for it', () => {
    const cache = new OpenedEnvelopeCache(10_000);
    const entry = (i: number) => ({ conversationId: 'c', keyIndex: 0, issued: 0, plaintext: 'x'.repeat(100 + i) });
    for (let i = 0; i < 50; i++) {
      cache.set(`stored-${i}`, entry(i));
      if (i === 40) expect(cache.get('stored-35')).toBeDefined(); // used: stays
      expect(cache.size).toBeLessThanOrEqual(10_000);
    }
    expect(cache.get('stored-0')).toBeUndefined();
    expect(cache.get('stored-35')).toBeDefined();
    expect(cache.get('stored-49')).toBeDefined();
    cache.set('huge', { conversationId: 'c', keyIndex: 0, issued: 0, plaintext: 'x'.repeat(2000) });
    expect(cache.get('huge')).toBeUndefined();
  });

  it('the option is checked', () => {
    expect(() => resolveCodec({ encryption: { keys: KEYS, cacheBytes: -1 } })).toThrow(SessionMemoryConfigurationError);
    expect(() => resolveCodec({ encryption: { keys: KEYS, cacheBytes: 1.5 } })).toThrow(/cacheBytes/);
    expect(resolveCodec({ encryption: { keys: KEYS, cacheBytes: 0 } }).sealing).toBe(true);
  });
});
