import { Args, Field, Mutation, ObjectType, Query, Resolver, Subscription } from '@nestjs/graphql';
import { Inject } from '@nestjs/common';
import { Agent, run } from '@openai/agents';
import { Observable } from 'rxjs';
import { Conversation, ConversationSession, InjectConversationSession, SessionMemoryService } from '../../../lib';

// docs/transports.md quotes this file: the tested GraphQL resolvers (code first, Apollo driver, graphql-ws).

/** The agent's model, given by the test (a LocalModel). */
export const GRAPHQL_CHAT_MODEL = Symbol('GRAPHQL_CHAT_MODEL');

@ObjectType()
export class ChatItem {
  @Field(() => String) role!: string;
  @Field(() => String) text!: string;
}

@ObjectType()
export class ChatChange {
  @Field(() => String) type!: string;
  @Field(() => [ChatItem]) items!: ChatItem[];
}

/** A stored item as GraphQL shows it: its role and its text. */
export function chatItem(item: any): ChatItem {
  const content = item?.content;
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((part: any) => part?.text ?? '').join('')
        : '';
  return { role: String(item?.role ?? item?.type ?? ''), text };
}

/**
 * An rxjs Observable as the AsyncIterator a GraphQL subscription returns: values are queued until
 * read, and `return()` (the client unsubscribed) unsubscribes.
 */
export function asAsyncIterator<T>(source: Observable<T>): AsyncIterableIterator<T> {
  const queue: T[] = [];
  const waiting: ((result: IteratorResult<T>) => void)[] = [];
  let done = false;
  const finish = () => {
    done = true;
    for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
  };
  const subscription = source.subscribe({
    next: (value) => (waiting.length ? waiting.shift()!({ value, done: false }) : queue.push(value)),
    complete: finish,
    error: finish,
  });
  return {
    next: () =>
      queue.length
        ? Promise.resolve({ value: queue.shift()!, done: false })
        : done
          ? Promise.resolve({ value: undefined, done: true })
          : new Promise((resolve) => waiting.push(resolve)),
    return: () => {
      subscription.unsubscribe();
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** `@Conversation()` in queries, mutations and a subscription over `changes$()`. */
@Resolver()
export class ConversationResolver {
  private readonly agent: Agent;

  constructor(
    private readonly memory: SessionMemoryService,
    @Inject(GRAPHQL_CHAT_MODEL) model: any,
  ) {
    this.agent = new Agent({ name: 'Assistant', instructions: 'Answer briefly.', model });
  }

  @Query(() => [ChatItem])
  async history(
    @Conversation() session: ConversationSession,
    @Args('conversationId', { type: () => String, nullable: true }) _id?: string,
  ): Promise<ChatItem[]> {
    return (await session.getItems()).map(chatItem);
  }

  @Mutation(() => String)
  async say(
    @Conversation() session: ConversationSession,
    @Args('text', { type: () => String }) text: string,
    @Args('conversationId', { type: () => String, nullable: true }) _id?: string,
  ): Promise<string> {
    const result = await run(this.agent, text, { session });
    return String(result.finalOutput);
  }

  /** The conversation's changes; `@Conversation()` checked the caller's access when the subscription started. */
  @Subscription(() => ChatChange, {
    resolve: (change: any) => ({ type: change.type, items: (change.items ?? []).map(chatItem) }),
  })
  changes(
    @Conversation() session: ConversationSession,
    @Args('conversationId', { type: () => String, nullable: true }) _id?: string,
  ): AsyncIterableIterator<unknown> {
    return asAsyncIterator(this.memory.changes$(session.conversationId, { owner: session.owner }));
  }
}

/** The request-scoped session (which makes this resolver request-scoped): Nest injects the GraphQL context as the request. */
@Resolver()
export class ScopedConversationResolver {
  constructor(@InjectConversationSession() private readonly session: ConversationSession) {}

  @Query(() => [ChatItem])
  async scopedHistory(
    @Args('conversationId', { type: () => String, nullable: true }) _id?: string,
  ): Promise<ChatItem[]> {
    return (await this.session.getItems()).map(chatItem);
  }
}
