import { hkdfSync } from 'crypto';
import { FernetKey } from './fernet';

/** HKDF `info` of Python's EncryptedSession (`agents.session-store.hkdf.v1`). @internal */
export const HKDF_INFO = 'agents.session-store.hkdf.v1';

/**
 * The bytes of a master key as Python's `EncryptedSession` takes them: a Fernet-format key (url-safe
 * base64 of exactly 32 bytes) gives those 32 bytes; any other string its UTF-8 bytes.
 * @internal
 */
export function masterKeyBytes(key: string): Buffer {
  if (/^[A-Za-z0-9_-]{43}=?$/.test(key)) {
    const bytes = Buffer.from(key, 'base64url');
    if (bytes.length === 32) return bytes;
  }
  return Buffer.from(key, 'utf8');
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
