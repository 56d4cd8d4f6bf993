/** Requests and tokens, summed. */
export interface UsageTotals {
  /** Model requests. */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** `getSessionUsage()`: the conversation's totals, and how many turns have usage recorded. */
export interface SessionUsage extends UsageTotals {
  /** Turns with usage (per branch: a turn asked again on another branch counts again). */
  totalTurns: number;
}

/** `getTurnUsage()`: what one turn cost, with the token details summed over its requests. */
export interface TurnUsage extends UsageTotals {
  turn: number;
  /** E.g. `{ cached_tokens: 120 }`, summed over the turn's requests (`{}` when the model reported none). */
  inputTokensDetails: Record<string, number>;
  /** E.g. `{ reasoning_tokens: 64 }`, summed over the turn's requests. */
  outputTokensDetails: Record<string, number>;
}

/** `SessionMemoryService.getUsage()`: which usage to add up. */
export interface UsageQuery {
  /** Only conversations this caller owned when the usage was recorded. */
  owner?: string;
  /** Usage recorded at or after this time. */
  since?: Date;
  /** Usage recorded before this time. */
  until?: Date;
}

/** `SessionMemoryService.getUsage()`: totals across conversations. */
export interface UsageSummary extends UsageTotals {
  /** Conversations with usage in the window. */
  conversations: number;
  /** Runner runs recorded (each run of `run(agent, input, { session })` is one). */
  runs: number;
}
