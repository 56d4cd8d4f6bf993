import { Injectable, UnauthorizedException } from '@nestjs/common';
import type { AuthenticatedRequest, Caller } from './caller';
import { CallerAuthenticator } from './caller-authenticator';

/** What an authentication in progress or done is kept as, per request (a guard and the owner option share it). */
const PENDING = Symbol('sample.callerAuthentication');

type PendingRequest = AuthenticatedRequest & { [PENDING]?: Promise<Caller> };

/**
 * Authenticates a request once, through the `CallerAuthenticator`, and keeps the caller on it
 * (`request.caller`). Both `CallerGuard` and the module's `owner` option call it: Nest builds a
 * request-scoped provider (the sample's `ConversationHistory`, whose session needs the owner) before
 * the guards run, so whichever comes first authenticates and the other reuses the answer.
 */
@Injectable()
export class CallerAuthentication {
  constructor(private readonly authenticator: CallerAuthenticator) {}

  /**
   * The request's caller.
   * @throws UnauthorizedException (401) when the authenticator finds none, with its `missingCallerMessage`.
   */
  callerOf(request: AuthenticatedRequest): Promise<Caller> {
    const pending = request as PendingRequest;
    pending[PENDING] ??= this.authenticate(pending);
    return pending[PENDING];
  }

  private async authenticate(request: AuthenticatedRequest): Promise<Caller> {
    const caller = await this.authenticator.authenticate(request);
    if (caller === undefined || caller === null || typeof caller.id !== 'string' || caller.id === '') {
      throw new UnauthorizedException(this.authenticator.missingCallerMessage);
    }
    request.caller = caller;
    return caller;
  }
}
