import { InvalidSessionInputError } from '../exceptions';

/** A run's cumulative usage, as recorded. @internal */
export interface RunCounts {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  inputTokensDetails: Record<string, number>;
  outputTokensDetails: Record<string, number>;
}

type Loose = Record<string, unknown>;

const isObject = (value: unknown): value is Loose => typeof value === 'object' && value !== null;

/** A count as a whole number >= 0 (anything else: 0). */
const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;

/** Adds the numeric fields of `details` (one record, or one per request) into `into`. */
function addDetails(into: Record<string, number>, details: unknown): Record<string, number> {
  for (const record of Array.isArray(details) ? details : [details]) {
    if (!isObject(record)) continue;
    for (const [key, value] of Object.entries(record)) {
      if (key === '__proto__' || typeof value !== 'number' || !Number.isFinite(value)) continue;
      into[key] = (Object.prototype.hasOwnProperty.call(into, key) ? into[key] : 0) + count(value);
    }
  }
  return into;
}

/**
 * The cumulative usage a runner's `RunContext` holds (`runContext.usage`: an Agents SDK `Usage`, whose
 * token details are one record per request), with the details summed into one record each.
 * @throws InvalidSessionInputError when `runContext` holds no usage object.
 * @internal
 */
export function countsOf(runContext: unknown, what: string): RunCounts {
  const usage = isObject(runContext) ? runContext.usage : undefined;
  if (!isObject(usage)) {
    throw new InvalidSessionInputError(`${what} needs a run's usage (runContext.usage); got none.`);
  }
  return {
    requests: count(usage.requests),
    inputTokens: count(usage.inputTokens),
    outputTokens: count(usage.outputTokens),
    totalTokens: count(usage.totalTokens),
    inputTokensDetails: addDetails({}, usage.inputTokensDetails),
    outputTokensDetails: addDetails({}, usage.outputTokensDetails),
  };
}

/** Whether nothing was spent yet (a run's first save, before the model answered). @internal */
export function isEmpty(counts: RunCounts): boolean {
  return counts.requests === 0 && counts.totalTokens === 0 && counts.inputTokens === 0 && counts.outputTokens === 0;
}

/** The `details` column: `{"input": {...}, "output": {...}}`, or null when both are empty. @internal */
export function detailsJson(counts: RunCounts): string | null {
  const { inputTokensDetails: input, outputTokensDetails: output } = counts;
  if (Object.keys(input).length === 0 && Object.keys(output).length === 0) return null;
  return JSON.stringify({ input, output });
}

/** The two detail records of a stored `details` column (`{}` each when absent or unreadable). @internal */
export function parseDetails(json: string | null): { input: Record<string, number>; output: Record<string, number> } {
  if (json === null) return { input: {}, output: {} };
  try {
    const parsed = JSON.parse(json) as { input?: unknown; output?: unknown };
    return { input: addDetails({}, parsed?.input), output: addDetails({}, parsed?.output) };
  } catch {
    return { input: {}, output: {} };
  }
}

/** Adds `details` into `into` (per key). @internal */
export function sumDetails(into: Record<string, number>, details: Record<string, number>): void {
  addDetails(into, details);
}
