import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from './caller';
import { CallerAuthentication } from './caller-authentication.service';
import { PUBLIC_ROUTE } from './public-route.decorator';
import { socketCaller } from '../socket/socket-caller';

/**
 * The sample's authentication guard, installed for every route (`APP_GUARD` in AppModule): it sets
 * `request.caller` through the `CallerAuthenticator`, and refuses a request without a caller with 401
 * before any handler, pipe or stream runs. Routes marked `@PublicRoute()` (the page's files) pass
 * without one. Handlers read the caller with `@CurrentCaller()`.
 */
@Injectable()
export class CallerGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: CallerAuthentication,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    // A WebSocket message: its connection was authenticated when it opened (socket/socket-caller.ts).
    if (context.getType() === 'ws') return (await socketCaller(context.switchToWs().getClient())) !== undefined;
    await this.authentication.callerOf(context.switchToHttp().getRequest<AuthenticatedRequest>());
    return true;
  }
}
