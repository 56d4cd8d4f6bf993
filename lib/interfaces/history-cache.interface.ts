/**
 * The `historyCache` module option in full: a per-process cache of recently read conversations'
 * whole histories, so that a turn's whole read transfers only the rows added since the last one
 * (docs/history-cache.md).
 */
export interface SessionMemoryHistoryCacheOptions {
  /**
   * Bytes of histories kept per module instance (estimated: two bytes per character of each item's
   * text, plus a small overhead per item), least recently used conversation first out. A history
   * larger than this is not kept. A whole number from 65536 (64 KiB) to 2^40. Default: 67108864 (64 MiB).
   */
  maxBytes?: number;
}
