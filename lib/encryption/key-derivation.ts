import { hkdfSync } from 'crypto';
import { FernetKey } from './fernet';
import { pythonUrlsafeB64decode } from './python-base64';

/** HKDF `info` of Python's EncryptedSession (`agents.session-store.hkdf.v1`). @internal */
export const HKDF_INFO = 'agents.session-store.hkdf.v1';

/**
 * The bytes of a master key as Python's `EncryptedSession` takes them: what
 * `base64.urlsafe_b64decode(key)` gives when that is exactly 32 bytes (a Fernet key, also with a
 * trailing newline, surrounding spaces or the standard alphabet's `+` and `/`), otherwise the key's
 * UTF-8 bytes (a passphrase, or a Fernet key whose `=` was dropped: Python refuses its padding).
 * @internal
 */
export function masterKeyBytes(key: string): Buffer {
  const bytes = pythonUrlsafeB64decode(key);
  return bytes !== undefined && bytes.length === 32 ? bytes : Buffer.from(key, 'utf8');
}

/** The bytes releases before 2026-12-07 took for a master key: exactly 43 url-safe base64 characters and an optional `=` decoded. */
function earlierMasterKeyBytes(key: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]{43}=?$/.test(key)) return undefined;
  const bytes = Buffer.from(key, 'base64url');
  return bytes.length === 32 ? bytes : undefined;
}

/**
 * The master keys' bytes, in order: each key as Python takes it, followed, where a key meant other
 * bytes in earlier releases, by those (opening only: the first entry seals), so rows sealed under them
 * stay readable (they open as an older key, and `reencrypt()` moves them to the first).
 * @internal
 */
export function masterKeyCandidates(keys: readonly string[]): Buffer[] {
  return keys.flatMap((key) => {
    const bytes = masterKeyBytes(key);
    const earlier = earlierMasterKeyBytes(key);
    return earlier && !earlier.equals(bytes) ? [bytes, earlier] : [bytes];
  });
}

/**
 * The Fernet key of one conversation: HKDF-SHA256 over the master key's bytes, salt = the
 * conversation id in UTF-8, info = `HKDF_INFO`, 32 bytes.
 * @internal
 */
export function conversationKey(master: Buffer, conversationId: string): FernetKey {
  const bytes = Buffer.from(hkdfSync('sha256', master, Buffer.from(conversationId, 'utf8'), HKDF_INFO, 32));
  return new FernetKey(bytes);
}
