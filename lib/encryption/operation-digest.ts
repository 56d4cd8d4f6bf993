import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'crypto';
import type { SessionMemoryModuleOptions } from '../interfaces';
import { masterKeyCandidates } from './key-derivation';

/**
 * HKDF `info` of the operation-log keys: distinct from the item keys' (`agents.session-store.hkdf.v1`),
 * so the key that digests a conversation's operations is never the one that seals its items.
 * @internal
 */
export const OPERATION_DIGEST_INFO = 'nestjs-session-memory.operation-log.hmac.v1';

/** The digest of one history transaction: what to record, and which recorded digests mean "the same transaction". @internal */
export interface TransactionDigest {
  /** The digest to record in the operation log (64 lowercase hex characters). */
  readonly hash: string;
  /** Whether a digest found in the operation log was recorded for this same transaction. */
  accepts(stored: string): boolean;
}

/**
 * How the operation log identifies a transaction (`transaction_hash`): a plain SHA-256 without the
 * `encryption` option, an HMAC-SHA256 under a key derived from the master keys with it (a digest of
 * plaintext anyone can recompute would give away short secrets: a 4-digit PIN is 10,000 guesses).
 * @internal
 */
export interface OperationDigest {
  /** The digest of a transaction's canonical JSON text in one conversation. */
  of(conversationId: string, canonical: string): TransactionDigest;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Constant-time comparison of two hex digests (false when the lengths differ). */
function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Without encryption: SHA-256 (hex) of the canonical text, as every earlier version recorded it. @internal */
export const PLAIN_OPERATION_DIGEST: OperationDigest = {
  of(_conversationId, canonical) {
    const hash = sha256(canonical);
    return { hash, accepts: (stored) => sameDigest(stored, hash) };
  },
};

/**
 * With encryption: HMAC-SHA256 (hex) of the canonical text under a per-conversation key, HKDF-SHA256
 * of each master key (salt = the conversation id in UTF-8, info = `OPERATION_DIGEST_INFO`, 32 bytes).
 * The first master key records; a digest recorded under any configured key is accepted (a replay
 * after a key rotation stays a replay), and so is the plain SHA-256 recorded before this digest
 * existed. Nothing computed here without a key is ever written.
 * @internal
 */
export class KeyedOperationDigest implements OperationDigest {
  private readonly masters: Buffer[];

  constructor(masterKeys: readonly string[]) {
    this.masters = masterKeyCandidates(masterKeys);
  }

  of(conversationId: string, canonical: string): TransactionDigest {
    const salt = Buffer.from(conversationId, 'utf8');
    const digests = this.masters.map((master) =>
      createHmac('sha256', Buffer.from(hkdfSync('sha256', master, salt, OPERATION_DIGEST_INFO, 32)))
        .update(canonical, 'utf8')
        .digest('hex'),
    );
    let legacy: string | undefined;
    return {
      hash: digests[0],
      accepts: (stored) =>
        digests.some((digest) => sameDigest(stored, digest)) || sameDigest(stored, (legacy ??= sha256(canonical))),
    };
  }
}

/**
 * The operation digest of a module instance: keyed when the `encryption` option is set (its keys
 * already checked by `resolveCodec`), plain otherwise.
 * @internal
 */
export function resolveOperationDigest(options: Pick<SessionMemoryModuleOptions, 'encryption'>): OperationDigest {
  const keys = (options.encryption as { keys?: string | string[] } | undefined | null)?.keys;
  if (keys === undefined) return PLAIN_OPERATION_DIGEST;
  return new KeyedOperationDigest(typeof keys === 'string' ? [keys] : keys);
}
