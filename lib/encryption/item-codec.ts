import { conversationKey, masterKeyCandidates } from './key-derivation';
import { type FernetKey, fresh } from './fernet';
import { DEFAULT_OPENED_CACHE_BYTES, OpenedEnvelope, OpenedEnvelopeCache } from './opened-cache';

/**
 * How items are stored: as their JSON text, or sealed in an envelope (the `encryption` option).
 * Stored texts go in and out through it; everything else works on plaintext JSON.
 * @internal
 */
export interface ItemCodec {
  /** Whether texts are sealed (false: `seal` and `open` return what they are given). */
  readonly sealing: boolean;
  /** The texts to store for these plaintext JSON texts of one conversation. */
  seal(conversationId: string, json: readonly string[]): string[];
  /** The plaintext JSON of a stored text: itself when it is not an envelope; undefined for an envelope no key opens. */
  open(conversationId: string, stored: string): string | undefined;
  /**
   * For a stored text `open` refused: whether it must be kept. True for an envelope no configured key
   * opens (a missing or mistyped key, an altered row), and, in strict mode, for a row that is not an
   * envelope; false for an envelope that only expired (`ttl`). Such rows are never deleted by a pop,
   * a compaction, a history mutation or a history transaction.
   */
  mustKeep(conversationId: string, stored: string): boolean;
  /** Which key opens a stored envelope (0 = the current one), -1 for a plaintext row, undefined when none does. */
  keyIndex(conversationId: string, stored: string): number | undefined;
}

/** Items stored as their JSON text. @internal */
export const PLAIN_CODEC: ItemCodec = {
  sealing: false,
  seal: (_id, json) => [...json],
  open: (_id, stored) => stored,
  mustKeep: () => false,
  keyIndex: () => -1,
};

/** The envelope's fixed fields, as Python's EncryptedSession writes and checks them. */
const ENVELOPE_HEAD = '{"__enc__":1,"v":1,"kid":"hkdf-v1","payload":';
/** Per-conversation keys kept derived (HKDF is a few microseconds; a chat touches few conversations). */
const KEY_CACHE_SIZE = 1024;

/** A stored text that is an envelope: its token; undefined for anything else. */
function tokenOf(stored: string): string | undefined {
  // Our own envelopes and Python's have exactly this form: read the token without parsing.
  if (stored.startsWith(ENVELOPE_HEAD) && stored.endsWith('"}')) {
    const token = stored.slice(ENVELOPE_HEAD.length + 1, -2);
    if (/^[A-Za-z0-9_=-]+$/.test(token)) return token;
  }
  if (!stored.includes('"__enc__"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return undefined;
  }
  const e = value as { __enc__?: unknown; payload?: unknown } | null;
  return e !== null && typeof e === 'object' && e.__enc__ === 1 && typeof e.payload === 'string'
    ? e.payload
    : undefined;
}

/**
 * Python `EncryptedSession`'s format, both ways: each item is the envelope
 * `{"__enc__":1,"v":1,"kid":"hkdf-v1","payload":TOKEN}`, TOKEN a Fernet token of the item's UTF-8
 * JSON under the conversation's key (HKDF-SHA256 of the master key, salt = conversation id). Several
 * master keys: the first seals, every one opens (rotation). A token older than `ttlSeconds` (when set)
 * does not open. `strict`: a stored text that is not an envelope does not open either (and is kept,
 * like an envelope no key opens), for deployments where every row is encrypted. What envelopes opened
 * to is kept in a byte-bounded cache (`OpenedEnvelopeCache`), so re-reading a history does not decrypt
 * it again; the age limit and the conversation are still checked on every hit.
 * @internal
 */
export class EncryptingCodec implements ItemCodec {
  readonly sealing = true;
  private readonly masters: Buffer[];
  private readonly keys = new Map<string, FernetKey[]>();
  /** What envelopes opened to (undefined: turned off with `cacheBytes` 0). */
  private readonly opened?: OpenedEnvelopeCache;

  constructor(
    masterKeys: readonly string[],
    private readonly ttlSeconds?: number,
    private readonly strict = false,
    /** Bound of the cache of opened envelopes (see `OpenedEnvelopeCache`); 0 turns it off. */
    cacheBytes = DEFAULT_OPENED_CACHE_BYTES,
  ) {
    this.masters = masterKeyCandidates(masterKeys);
    if (cacheBytes > 0) this.opened = new OpenedEnvelopeCache(cacheBytes);
  }

  seal(conversationId: string, json: readonly string[]): string[] {
    const key = this.keysOf(conversationId)[0];
    const issued = Math.floor(Date.now() / 1000);
    return json.map((text) => {
      const stored = `${ENVELOPE_HEAD}${JSON.stringify(key.encrypt(Buffer.from(text, 'utf8'), issued))}}`;
      // Read back soon (the runner re-reads the history every turn): opened already.
      this.opened?.set(stored, { conversationId, keyIndex: 0, issued, plaintext: text });
      return stored;
    });
  }

  open(conversationId: string, stored: string): string | undefined {
    const opened = this.opening(conversationId, stored);
    // A plaintext row (written before encryption, or by a plain writer); refused in strict mode.
    if (opened === null) return this.strict ? undefined : stored;
    return opened !== undefined && this.live(opened.issued) ? opened.plaintext : undefined;
  }

  mustKeep(conversationId: string, stored: string): boolean {
    const opened = this.opening(conversationId, stored);
    // A key that opens it regardless of age means it only expired: Python drops those too.
    return opened === null ? this.strict : opened === undefined;
  }

  keyIndex(conversationId: string, stored: string): number | undefined {
    const opened = this.opening(conversationId, stored);
    if (opened === null) return -1;
    return opened !== undefined && this.live(opened.issued) ? opened.keyIndex : undefined;
  }

  /**
   * What `stored` opens to under the conversation's keys, whatever its age (from the cache when it
   * was opened for this conversation before); `null` when it is not an envelope, undefined when no
   * key opens it.
   */
  private opening(conversationId: string, stored: string): OpenedEnvelope | null | undefined {
    const hit = this.opened?.get(stored);
    // A token copied into another conversation's row must not open there: its key differs.
    if (hit !== undefined && hit.conversationId === conversationId) return hit;
    const token = tokenOf(stored);
    if (token === undefined) return null;
    const keys = this.keysOf(conversationId);
    for (let keyIndex = 0; keyIndex < keys.length; keyIndex++) {
      const opened = keys[keyIndex].open(token);
      if (opened === undefined) continue;
      const entry = { conversationId, keyIndex, issued: opened.issued, plaintext: opened.plaintext.toString('utf8') };
      if (this.live(entry.issued)) this.opened?.set(stored, entry);
      return entry;
    }
    return undefined;
  }

  /** Whether a token issued then still opens (`ttlSeconds`). */
  private live(issued: number): boolean {
    return this.ttlSeconds === undefined || fresh(issued, this.ttlSeconds);
  }

  private keysOf(conversationId: string): FernetKey[] {
    let keys = this.keys.get(conversationId);
    if (keys) {
      // most recently used last: Map keeps insertion order
      this.keys.delete(conversationId);
    } else {
      keys = this.masters.map((master) => conversationKey(master, conversationId));
      if (this.keys.size >= KEY_CACHE_SIZE) this.keys.delete(this.keys.keys().next().value as string);
    }
    this.keys.set(conversationId, keys);
    return keys;
  }
}
