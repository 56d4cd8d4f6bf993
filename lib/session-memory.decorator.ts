import { Inject, Injectable, PipeTransform, Type, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { resolveConversationSession } from './conversation-id.resolver';
import type { SessionMemoryModuleOptions } from './interfaces';
import {
  getConversationSessionToken,
  getSessionMemoryOptionsToken,
  getSessionMemoryToken,
} from './session-memory.constants';
import type { SessionMemoryService } from './session-memory.service';
import { fromExecutionContext } from './transport/transport-request';

/**
 * Injects the `SessionMemoryService` of a module instance (the default one when `name` is left out;
 * the default one can also be injected by its class).
 */
export const InjectSessionMemory = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(getSessionMemoryToken(name));

/**
 * Injects the `ConversationSession` of the current request, keyed by the conversation id that the
 * module's `conversationId` option says how to read. This makes the consumer request-scoped (see README:
 * request scope bubbles up to everything that injects it, and costs an instantiation per request).
 */
export const InjectConversationSession = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(getConversationSessionToken(name));

const pipes = new Map<string, Type<PipeTransform>>();

/** The pipe behind `@Conversation()`: one singleton per module instance. @internal */
function conversationSessionPipe(name?: string): Type<PipeTransform> {
  const key = name ?? 'default';
  let pipe = pipes.get(key);
  if (!pipe) {
    @Injectable()
    class ConversationSessionPipe implements PipeTransform {
      constructor(
        @Inject(getSessionMemoryToken(name)) private readonly service: SessionMemoryService,
        @Inject(getSessionMemoryOptionsToken(name)) private readonly options: SessionMemoryModuleOptions,
      ) {}

      transform(request: unknown) {
        return resolveConversationSession(request, this.service, this.options);
      }
    }
    pipe = ConversationSessionPipe;
    pipes.set(key, pipe);
  }
  return pipe;
}

/** What the call's transport gives to read the conversation id from (HTTP, WebSocket, GraphQL or RPC). */
const currentRequest = createParamDecorator((_data: unknown, ctx: ExecutionContext) => fromExecutionContext(ctx));

/**
 * Handler parameter decorator giving the `ConversationSession` of the current call, read as the
 * module's `conversationId` option says. Unlike `@InjectConversationSession()` it makes nothing
 * request-scoped: it costs one object per call. It works in HTTP controllers (Express, Fastify),
 * WebSocket gateways' `@SubscribeMessage()` handlers (socket.io and ws: header and query from the
 * connection's handshake), GraphQL resolvers (the request in the GraphQL context) and microservice
 * handlers (through a resolver): docs/transports.md.
 *
 * ```ts
 * @Post('messages') reply(@Conversation() session: ConversationSession, @Body() body: { text: string }) { ... }
 * ```
 */
export const Conversation = (name?: string): ParameterDecorator =>
  currentRequest(undefined, conversationSessionPipe(name));
