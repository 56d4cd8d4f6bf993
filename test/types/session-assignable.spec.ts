/**
 * `ConversationSession` must be usable wherever the OpenAI Agents SDK expects its `Session` interface.
 *
 * The compile-time part is checked by `npm run typecheck` (run first by `npm test`): this file is in
 * tsconfig.json's `include`, so a `ConversationSession` that stopped matching `Session` fails the build,
 * and so does the `@ts-expect-error` line below if the check ever stops being able to fail (for example
 * if `Session` resolved to `any`). Jest runs the file with type-checking off, so the runtime asserts
 * repeat what can be seen at run time. (`run(agent, input, { session })` end to end is in compat/smoke.mjs.)
 */
import type { AgentInputItem, Session } from '@openai/agents-core';
import { ConversationSession, SessionMemoryService } from '../../lib';
import { startMemory, TestMemory } from '../support/memory';

// ---- compile time -------------------------------------------------------------------------------

/** Compiles only when `T` is exactly `true`. */
type Assert<T extends true> = T;
/** `true` when A is assignable to B, `false` otherwise (non-distributive). */
type IsAssignable<A, B> = [A] extends [B] ? true : false;

export type ConversationSessionIsASession = Assert<IsAssignable<ConversationSession, Session>>;
export type ItemsAreAgentInputItems = Assert<
  IsAssignable<Awaited<ReturnType<ConversationSession['getItems']>>, AgentInputItem[]>
>;
export type PopGivesAnItemOrUndefined = Assert<
  IsAssignable<Awaited<ReturnType<ConversationSession['popItem']>>, AgentInputItem | undefined>
>;
export type SessionMemoryHandsOutSessions = Assert<IsAssignable<ReturnType<SessionMemoryService['session']>, Session>>;

/** The assignment itself, as application code writes it. */
export function asAgentsSession(session: ConversationSession): Session {
  return session;
}

/** An object that lacks popItem and clearSession: the checker must refuse it, proving the check can fail. */
export const notASession = {
  getSessionId: async () => 'x',
  getItems: async (): Promise<AgentInputItem[]> => [],
  addItems: async (_items: AgentInputItem[]): Promise<void> => undefined,
};
// @ts-expect-error notASession has no popItem/clearSession, so it is not a Session
export const refused: Session = notASession;

// ---- run time -----------------------------------------------------------------------------------

describe('ConversationSession as an Agents SDK Session', () => {
  let m: TestMemory;
  beforeAll(async () => {
    m = await startMemory('sqlite::memory:');
  });
  afterAll(async () => {
    await m?.close();
  });

  it('has every method of the Session interface, and getSessionId gives the conversation id', async () => {
    const session: Session = asAgentsSession(m.memory.session('types-1'));
    for (const method of ['getSessionId', 'getItems', 'addItems', 'popItem', 'clearSession'] as const) {
      expect(typeof session[method]).toBe('function');
    }
    await expect(session.getSessionId()).resolves.toBe('types-1');
    // The refused object really lacks what the checker complained about.
    expect('popItem' in notASession).toBe(false);
    expect('clearSession' in notASession).toBe(false);
  });

  it('does the Session operations when used only through the Session type', async () => {
    const session: Session = asAgentsSession(m.memory.session('types-ops'));
    const items: AgentInputItem[] = [
      { role: 'user', content: 'hello' },
      { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'hi' }] },
      { type: 'function_call', callId: 'call_1', name: 'lookup', arguments: '{"q":"x"}' },
    ];
    await session.addItems(items);
    expect(await session.getItems()).toEqual(items);
    expect(await session.getItems(1)).toEqual([items[2]]);
    expect(await session.popItem()).toEqual(items[2]);
    expect(await session.getItems()).toEqual(items.slice(0, 2));
    await session.clearSession();
    expect(await session.getItems()).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
  });
});
