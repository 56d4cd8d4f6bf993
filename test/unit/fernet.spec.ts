import { FernetKey } from '../../lib/encryption/fernet';
import { conversationKey, masterKeyBytes } from '../../lib/encryption/key-derivation';

// The Fernet specification's generate/verify vector (github.com/fernet/spec, generate.json / verify.json).
const SPEC = {
  token: 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  now: Date.parse('1985-10-26T01:20:00-07:00') / 1000,
  iv: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
  src: 'hello',
  secret: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
};

describe('Fernet', () => {
  const key = new FernetKey(Buffer.from(SPEC.secret, 'base64url'));

  it('generates the specification token from its key, IV and time', () => {
    expect(key.encrypt(Buffer.from(SPEC.src), SPEC.now, SPEC.iv)).toBe(SPEC.token);
  });

  it('verifies it within its ttl, and refuses it once expired or from too far ahead', () => {
    expect(key.decrypt(SPEC.token, 60, SPEC.now + 1)?.toString()).toBe('hello');
    expect(key.decrypt(SPEC.token, 60, SPEC.now + 61)).toBeUndefined();
    expect(key.decrypt(SPEC.token, 60, SPEC.now - 61)).toBeUndefined();
    expect(key.decrypt(SPEC.token)?.toString()).toBe('hello'); // no age check
  });

  it('refuses a token with any byte changed, a wrong key, bad base64, a short token', () => {
    const raw = Buffer.from(SPEC.token, 'base64url');
    for (const at of [0, 1, 9, 30, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[at] ^= 1;
      expect(key.decrypt(bad.toString('base64url'))).toBeUndefined();
    }
    const other = new FernetKey(Buffer.alloc(32, 7));
    expect(other.decrypt(SPEC.token)).toBeUndefined();
    expect(key.decrypt('%%%%' + SPEC.token.slice(4))).toBeUndefined();
    expect(key.decrypt(SPEC.token.slice(0, 40))).toBeUndefined();
  });

  it('round-trips UTF-8 of any length with random IVs', () => {
    for (const text of ['', 'é', 'x'.repeat(15), 'y'.repeat(16), '東京 🚀'.repeat(1000)]) {
      const a = key.encrypt(Buffer.from(text));
      expect(key.decrypt(a)?.toString('utf8')).toBe(text);
      expect(key.encrypt(Buffer.from(text))).not.toBe(a);
    }
  });
});

describe('master keys and per-conversation keys, as Python EncryptedSession derives them', () => {
  it('a Fernet-format master key gives its 32 bytes; anything else its UTF-8 bytes', () => {
    expect(masterKeyBytes('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=')).toEqual(
      Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
    );
    expect(masterKeyBytes('correct horse battery staple')).toEqual(Buffer.from('correct horse battery staple'));
    expect(masterKeyBytes('AAEC')).toEqual(Buffer.from('AAEC')); // base64, but not 32 bytes
  });

  it('keys differ per conversation and per master key', () => {
    const m = masterKeyBytes('k');
    const token = conversationKey(m, 'a').encrypt(Buffer.from('x'));
    expect(conversationKey(m, 'a').decrypt(token)?.toString()).toBe('x');
    expect(conversationKey(m, 'b').decrypt(token)).toBeUndefined();
    expect(conversationKey(masterKeyBytes('k2'), 'a').decrypt(token)).toBeUndefined();
  });
});
