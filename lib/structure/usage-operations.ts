import type { RunContext } from '@openai/agents-core';
import { SessionMemoryConfigurationError } from '../exceptions';
import type { OwnerCheck } from '../ownership/owner-check';
import type { SessionMemoryContext } from '../session-memory.context';
import { runIn } from './run-usage';
import { usageQueryOf } from './structure-input';
import { RunCounts, countsOf, detailsJson, isEmpty, parseDetails, sumDetails } from './usage-counts';
import type { SessionUsage, TurnUsage, UsageSummary } from './usage.types';

/** Where a run's usage is recorded: its conversation's branch, the caller, and how to count the turn without a known read. */
export interface UsageTarget {
  conversationId: string;
  /** The branch the run wrote to. */
  branchId: string;
  /** The caller the session was opened for, if any (then the conversation's owner). */
  owner?: string;
  /** User messages in the branch's history now: the turn, when the run's first read is not known. */
  userMessagesNow: () => Promise<number>;
}

/** The snapshot compared to skip unchanged saves. */
const snapshotOf = (turn: number, branchId: string, counts: RunCounts) => JSON.stringify([turn, branchId, counts]);

/** The conversation's owner for a run's usage row: the session's caller, else the recorded owner (read once per run). */
async function ownerFor(context: SessionMemoryContext, target: UsageTarget, known: { owner?: string | null }) {
  if (target.owner !== undefined) return target.owner;
  if (known.owner !== undefined) return known.owner;
  if (!context.optionalTables.current.owners) return null;
  const { owner } = await context.gate.guard('storeRunUsage', () => context.store.readOwnership(target.conversationId));
  known.owner = owner ?? null;
  return known.owner;
}

/**
 * Records `runContext`'s cumulative usage against the turn the run wrote: the user messages of the
 * run's first whole read plus those it wrote (else of the branch's history now), under the run's key,
 * so that saving again (a retried save, `storeRunUsage` after the automatic record) replaces the row
 * instead of adding to it. Writes nothing before the model spent anything, or when nothing changed
 * since the run's last record. Returns false, writing nothing, when the usage table does not exist.
 * @internal
 */
export async function recordRunUsage(
  context: SessionMemoryContext,
  target: UsageTarget,
  runContext: RunContext<unknown>,
  method: string,
): Promise<boolean> {
  const counts = countsOf(runContext, method);
  if (isEmpty(counts)) return true;
  const usage = context.store.usage;
  if (!(await context.gate.guard(method, () => usage.exists()))) return false;
  const { key, state } = runIn(runContext, target.conversationId);
  if (state.read === undefined) state.read = (await target.userMessagesNow()) - state.wrote;
  const turn = state.read + state.wrote;
  const snapshot = snapshotOf(turn, target.branchId, counts);
  if (state.recorded === snapshot) return true;
  const owner = await ownerFor(context, target, state);
  await context.gate.guard(method, () =>
    usage.upsert({
      sessionId: target.conversationId,
      branchId: target.branchId,
      runKey: key,
      turn,
      requests: counts.requests,
      inputTokens: counts.inputTokens,
      outputTokens: counts.outputTokens,
      totalTokens: counts.totalTokens,
      details: detailsJson(counts),
      owner,
    }),
  );
  state.recorded = snapshot;
  return true;
}

/**
 * The automatic record of `addItems(items, runContext)`: as `recordRunUsage`, but a failure is logged,
 * not thrown (the items are stored; the next save of the run records its usage again).
 * @internal
 */
export async function recordRunUsageQuietly(
  context: SessionMemoryContext,
  target: UsageTarget,
  runContext: RunContext<unknown>,
): Promise<void> {
  try {
    await recordRunUsage(context, target, runContext, 'addItems');
  } catch (err) {
    context.logger.warn(
      `could not record the run's usage of conversation ${JSON.stringify(target.conversationId)} ` +
        `(the items were stored; the run's next save records it again): ${(err as Error).message}`,
    );
  }
}

/** Throws naming the fix when the usage table is missing. */
async function requireUsageTable(context: SessionMemoryContext, method: string): Promise<void> {
  if (await context.gate.guard(method, () => context.store.usage.exists())) return;
  throw new SessionMemoryConfigurationError(
    `${method} needs the optional usage table, which does not exist. ` +
      'Set `createTables: true`, or run the migration (see docs/conversation-structure.md, "Usage").',
  );
}

/**
 * The conversation's totals: of one branch when `branchId` is given, else of every branch (as Python's
 * `get_session_usage`). Zeros when nothing was recorded.
 * @internal
 */
export async function readSessionUsage(
  context: SessionMemoryContext,
  conversationId: string,
  branchId: string | undefined,
  ownerCheck: OwnerCheck | undefined,
): Promise<SessionUsage> {
  await ownerCheck?.access();
  await requireUsageTable(context, 'getSessionUsage');
  const { turns, ...totals } = await context.gate.guard('getSessionUsage', () =>
    context.store.usage.sessionTotals(conversationId, branchId),
  );
  return { ...totals, totalTurns: turns };
}

/**
 * The usage of each turn of a branch with any (of `turn` only when given), by turn: the runs of a turn
 * summed, token details included.
 * @internal
 */
export async function readTurnUsage(
  context: SessionMemoryContext,
  conversationId: string,
  branchId: string,
  turn: number | undefined,
  ownerCheck: OwnerCheck | undefined,
): Promise<TurnUsage[]> {
  await ownerCheck?.access();
  await requireUsageTable(context, 'getTurnUsage');
  const rows = await context.gate.guard('getTurnUsage', () =>
    context.store.usage.turnRows(conversationId, branchId, turn),
  );
  const out: TurnUsage[] = [];
  for (const row of rows) {
    let last = out[out.length - 1];
    if (!last || last.turn !== row.turn) {
      last = {
        turn: row.turn,
        requests: 0,
        inputTokens: 0,
        outputTokens: 0,
        totalTokens: 0,
        inputTokensDetails: {},
        outputTokensDetails: {},
      };
      out.push(last);
    }
    last.requests += row.requests;
    last.inputTokens += row.inputTokens;
    last.outputTokens += row.outputTokens;
    last.totalTokens += row.totalTokens;
    const details = parseDetails(row.details);
    sumDetails(last.inputTokensDetails, details.input);
    sumDetails(last.outputTokensDetails, details.output);
  }
  return out;
}

/**
 * `SessionMemoryService.getUsage`: totals across conversations, of one owner and a time window when
 * given (validated first, before any I/O).
 * @internal
 */
export async function readUsage(context: SessionMemoryContext, query: unknown): Promise<UsageSummary> {
  const checked = usageQueryOf(query);
  await requireUsageTable(context, 'getUsage');
  return context.gate.guard('getUsage', () => context.store.usage.totals(checked));
}

/**
 * The run context of a run result (`result.runContext`, holding the run's usage).
 * @throws InvalidSessionInputError when `result` is not a run result with a run context holding usage.
 * @internal
 */
export function runContextOf(result: unknown): RunContext<unknown> {
  const runContext =
    typeof result === 'object' && result !== null ? (result as { runContext?: unknown }).runContext : undefined;
  countsOf(runContext, 'storeRunUsage(result)');
  return runContext as RunContext<unknown>;
}

/**
 * `storeRunUsage(result)`, as Python's `store_run_usage`: records the run's usage now (the same row as
 * the automatic record, so calling it after a run that saved to this session changes nothing).
 * @throws SessionMemoryConfigurationError when the usage table does not exist.
 * @internal
 */
export async function storeRunUsage(
  context: SessionMemoryContext,
  target: UsageTarget,
  runContext: RunContext<unknown>,
  ownerCheck: OwnerCheck | undefined,
): Promise<void> {
  if ((await ownerCheck?.write('existing')) === 'absent') return; // no conversation: nothing to record against
  if (!(await recordRunUsage(context, target, runContext, 'storeRunUsage'))) {
    await requireUsageTable(context, 'storeRunUsage');
  }
}
