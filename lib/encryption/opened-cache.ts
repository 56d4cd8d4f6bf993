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
  private readonly entries = new Map<string, OpenedEnvelope>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The entry of this stored text, marked as the most recently used; undefined when not cached. */
  get(stored: string): OpenedEnvelope | undefined {
    const entry = this.entries.get(stored);
    if (entry !== undefined) {
      // Most recently used last: a Map keeps insertion order.
      this.entries.delete(stored);
      this.entries.set(stored, entry);
    }
    return entry;
  }

  /** Keeps `entry` for `stored`, evicting the least recently used entries beyond the bound. */
  set(stored: string, entry: OpenedEnvelope): void {
    const size = sizeOf(stored, entry);
    if (size * LARGEST_SHARE > this.maxBytes) return;
    const previous = this.entries.get(stored);
    if (previous !== undefined) {
      this.entries.delete(stored);
      this.bytes -= sizeOf(stored, previous);
    }
    this.entries.set(stored, entry);
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const [oldest, evicted] = this.entries.entries().next().value as [string, OpenedEnvelope];
      this.entries.delete(oldest);
      this.bytes -= sizeOf(oldest, evicted);
    }
  }

  /** Estimated bytes held (for tests and diagnostics). */
  get size(): number {
    return this.bytes;
  }
}

function sizeOf(stored: string, entry: OpenedEnvelope): number {
  return stored.length + 2 * entry.plaintext.length + 2 * entry.conversationId.length + ENTRY_OVERHEAD;
}
