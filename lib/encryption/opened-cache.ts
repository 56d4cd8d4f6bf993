/**
 * What a stored envelope opened to: the conversation whose key opened it, which key (0 = the
 * current one), when its token was issued (seconds since the epoch) and its plaintext JSON.
 * @internal
 */
export interface OpenedEnvelope {
  readonly conversationId: string;
  readonly keyIndex: number;
  readonly issued: number;
  readonly plaintext: string;
}

/** Bytes counted per entry beyond its texts (the entry object, the map's slot). */
const ENTRY_OVERHEAD = 120;
/** No entry larger than this share of the bound: one huge item must not flush the cache. */
const LARGEST_SHARE = 8;
/**
 * Entries are found by the stored text's last characters (an envelope ends with its token's MAC,
 * unique per token): hashing those costs a fraction of hashing the whole text, which is new at every
 * read. A found entry is used only when its whole stored text equals the one read.
 */
const KEY_CHARS = 48;

/** An entry with the stored text it is for. */
interface Entry {
  readonly stored: string;
  readonly opened: OpenedEnvelope;
}

/** The cache's default bound (the `encryption.cacheBytes` option). @internal */
export const DEFAULT_OPENED_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * A byte-bounded LRU map from a stored envelope's text to what it opened to, so that a history read
 * again (the Agents SDK runner re-reads it every turn) is not decrypted again. A token never changes,
 * so an entry can never be stale; what may change (its age against `ttl`, which conversation asks)
 * is checked by the caller on every hit. Only envelopes that opened are kept. Sizes are estimated
 * (the stored text at one byte per character, it is ASCII; the plaintext at two).
 * @internal
 */
export class OpenedEnvelopeCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The entry of this stored text, marked as the most recently used; undefined when not cached. */
  get(stored: string): OpenedEnvelope | undefined {
    const key = keyOf(stored);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.stored !== stored) return undefined;
    // Most recently used last: a Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.opened;
  }

  /** Keeps `entry` for `stored`, evicting the least recently used entries beyond the bound. */
  set(stored: string, opened: OpenedEnvelope): void {
    const entry = { stored, opened };
    const size = sizeOf(entry);
    if (size * LARGEST_SHARE > this.maxBytes) return;
    const key = keyOf(stored);
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.bytes -= sizeOf(previous);
    }
    this.entries.set(key, entry);
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const [oldest, evicted] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      this.bytes -= sizeOf(evicted);
    }
  }

  /** Estimated bytes held (for tests and diagnostics). */
  get size(): number {
    return this.bytes;
  }
}

function keyOf(stored: string): string {
  return stored.length > KEY_CHARS ? stored.slice(-KEY_CHARS) : stored;
}

function sizeOf({ stored, opened }: Entry): number {
  return stored.length + 2 * opened.plaintext.length + 2 * opened.conversationId.length + ENTRY_OVERHEAD;
}
