import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { InvalidConversationIdError, SessionMemoryService } from '../../lib';
import { resolveConversationSession } from '../../lib/conversation-id.resolver';
import { fromExecutionContext } from '../../lib/transport/transport-request';
import { TestMemory, startMemory, urlFor } from '../support/memory';

/**
 * Microservice handlers: no transport is installed here, so `@Conversation()`'s reading is driven with
 * Nest's own ExecutionContext of type `rpc` (what a `@MessagePattern()` handler gets), and the
 * request-scoped session with a microservice `RequestContext`'s shape, on a real SQLite store.
 */
describe('microservice calls (rpc)', () => {
  let memory: TestMemory;
  let service: SessionMemoryService;
  beforeAll(async () => {
    memory = await startMemory(urlFor('sqlite', ''));
    service = memory.memory;
  });
  afterAll(() => memory?.close());

  const rpcContext = (data: unknown, ctx: unknown) => {
    const host = new ExecutionContextHost([data, ctx]);
    host.setType('rpc');
    return host;
  };

  it('a resolver gets the transport context and the message data; the owner too', async () => {
    const seen: unknown[] = [];
    const ctx = { subject: 'chat.say' };
    const session = await resolveConversationSession(
      fromExecutionContext(rpcContext({ conversationId: 'rpc-1', user: 'ada' }, ctx)),
      service,
      {
        conversationId: (context, data, transport) => {
          seen.push(context, transport);
          return data.conversationId;
        },
        owner: (_context, data) => data.user,
      },
    );
    expect(session.conversationId).toBe('rpc-1');
    expect(session.owner).toBe('ada');
    expect(seen).toEqual([ctx, { type: 'rpc', context: ctx }]);
  });

  it('a header source cannot be read from a message: a typed error saying to use a resolver', async () => {
    const refusal = resolveConversationSession(fromExecutionContext(rpcContext({}, {})), service, {
      conversationId: { header: 'x-conversation-id' },
    });
    await expect(refusal).rejects.toThrow(InvalidConversationIdError);
    await expect(refusal).rejects.toThrow(
      /microservice message has no headers, route or query: read the id in a conversationId resolver/,
    );
  });

  it('another caller is refused with ConversationAccessDeniedError itself (status 403), not an HTTP exception', async () => {
    await service.session('rpc-owned', { owner: 'ada' }).addItems([{ role: 'user', content: 'hi' }]);
    const refusal = resolveConversationSession(fromExecutionContext(rpcContext({ id: 'rpc-owned' }, {})), service, {
      conversationId: (_c, data) => data.id,
      owner: () => 'bob',
    });
    await expect(refusal).rejects.toMatchObject({
      name: 'ConversationAccessDeniedError',
      code: 'SESSION_MEMORY_ACCESS_DENIED',
    });
  });

  it("the request-scoped session reads a microservice RequestContext (Nest's REQUEST there)", async () => {
    const requestContext = {
      getPattern: () => 'chat.say',
      getData: () => ({ conversationId: 'rpc-2' }),
      getContext: () => ({ n: 1 }),
    };
    const session = await resolveConversationSession(requestContext, service, {
      conversationId: (context, data, transport) =>
        transport?.type === 'rpc' && context.n === 1 ? data.conversationId : undefined,
    });
    expect(session.conversationId).toBe('rpc-2');
  });
});
