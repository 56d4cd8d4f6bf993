import { ArgumentsHost, Catch, ForbiddenException, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { throwError } from 'rxjs';
import { ConversationAccessDeniedError } from './conversation-access-denied.error';

/**
 * Answers a `ConversationAccessDeniedError` as Nest answers a `ForbiddenException` (403,
 * `{ message, error: 'Forbidden', statusCode: 403 }`), wherever it is thrown: the `@Conversation()`
 * pipe, the request-scoped session, a handler, a guard. `SessionMemoryModule` registers it through
 * `APP_FILTER`, so an app that answered 403 when the error was a `ForbiddenException` still does with
 * no setup. It catches this error only; every other error of the package reaches the app's own
 * filters or Nest's default handling, as before.
 *
 * Outside HTTP it does what Nest's default handling did with the `ForbiddenException`: GraphQL gets
 * the `ForbiddenException` (its `cause` is the error), microservices and WebSocket gateways an
 * "Internal server error" (their default for an exception that is not theirs).
 * @internal
 */
@Catch(ConversationAccessDeniedError)
export class ConversationAccessDeniedFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('ExceptionsHandler');

  override catch(error: ConversationAccessDeniedError, host: ArgumentsHost): unknown {
    const forbidden = new ForbiddenException(error.message, { cause: error, description: 'Forbidden' });
    const type = host.getType<string>();
    if (type === 'http') return super.catch(forbidden, host);
    if (type === 'graphql') throw forbidden;
    const unknown = { status: 'error', message: 'Internal server error' };
    this.logger.error(forbidden);
    if (type === 'ws') {
      (host.switchToWs().getClient() as { emit?: (event: string, data: unknown) => void })?.emit?.(
        'exception',
        unknown,
      );
      return undefined;
    }
    return throwError(() => unknown);
  }
}
