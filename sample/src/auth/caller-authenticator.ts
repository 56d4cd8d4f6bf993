import type { Caller } from './caller';

/**
 * How the sample learns who is calling: the one piece an application replaces to plug its own
 * authentication. `CallerGuard` asks it for every API request and answers 401 when it finds no caller;
 * the module's `owner` option and the controllers then use the caller it returned.
 *
 * The sample provides `DemoHeaderAuthenticator` (`SAMPLE_DEMO_AUTH=1`: whoever the `x-caller-id`
 * header claims) and otherwise `NoAuthenticator` (every request refused). An application provides its
 * own class under this token, e.g. in `AuthModule`:
 *
 * ```ts
 * @Injectable()
 * export class JwtAuthenticator extends CallerAuthenticator {
 *   readonly missingCallerMessage = 'Sign in: send Authorization: Bearer <access token>.';
 *   constructor(private readonly jwt: JwtService) { super(); }
 *   async authenticate(request: Request): Promise<Caller | undefined> {
 *     const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
 *     if (!token) return undefined;
 *     const claims = await this.jwt.verifyAsync(token).catch(() => undefined); // expired, forged: no caller
 *     return claims ? { id: String(claims.sub) } : undefined;
 *   }
 * }
 * // AuthModule: { provide: CallerAuthenticator, useClass: JwtAuthenticator }
 * ```
 *
 * A session cookie works the same way (and, unlike a header, is sent by the page's EventSource too).
 * Never take the caller from a value the client chooses freely, as the demo does.
 */
export abstract class CallerAuthenticator {
  /** What the 401 answer says when `authenticate` finds no caller: how to authenticate. */
  abstract readonly missingCallerMessage: string;

  /**
   * The caller this request proves to be, or undefined when it proves nothing (the request is then
   * refused with 401 and `missingCallerMessage`). It may also throw an `UnauthorizedException` of its
   * own to say more (e.g. "the token has expired"). Called at most once per request.
   */
  abstract authenticate(request: AuthenticatorRequest): Caller | undefined | Promise<Caller | undefined>;
}

/** What an authenticator is given: the HTTP request (an Express request in the sample). */
export interface AuthenticatorRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
}
