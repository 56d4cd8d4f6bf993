/** Options of `windowHistory()`. Give at least one of `maxItems` and `maxTurns`. */
export interface WindowHistoryOptions {
  /** At most this many stored items reach the model (a leading compaction item is not counted). */
  maxItems?: number;
  /** At most this many turns (a turn starts at a user message) reach the model. */
  maxTurns?: number;
}
