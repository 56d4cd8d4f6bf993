import { ExecutionContext, InternalServerErrorException, createParamDecorator } from '@nestjs/common';
import type { AuthenticatedRequest, Caller } from './caller';

/**
 * Handler parameter decorator: the caller `CallerGuard` established for this request.
 *
 * ```ts
 * @Get() list(@CurrentCaller() caller: Caller) { return this.memory.listSessions({ owner: caller.id }); }
 * ```
 */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) {
    // Only on a @PublicRoute(), or if CallerGuard is not installed: a wiring mistake, not the client's.
    throw new InternalServerErrorException('No caller on this request: is CallerGuard installed (APP_GUARD)?');
  }
  return caller;
});
