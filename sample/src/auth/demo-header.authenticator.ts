import { UnauthorizedException } from '@nestjs/common';
import { MAX_CONVERSATION_ID_LENGTH } from '../../../lib';
import type { Caller } from './caller';
import { AuthenticatorRequest, CallerAuthenticator } from './caller-authenticator';

/** The header the demo authenticator reads. */
export const DEMO_CALLER_HEADER = 'x-caller-id';

/** The query parameter it reads when the header is absent (an EventSource cannot send headers). */
export const DEMO_CALLER_QUERY = 'caller';

/**
 * DEMO MODE ONLY (`SAMPLE_DEMO_AUTH=1`, which `npm run sample` turns on): the caller is whoever the
 * `x-caller-id` header claims, else the `caller` query parameter (the chat page's EventSource cannot
 * send headers). Anyone can claim any identity this way: it is for trying the sample locally, never
 * for a server others can reach. A request that names no caller, or several, has none (401); there is
 * no shared default caller.
 */
export class DemoHeaderAuthenticator extends CallerAuthenticator {
  readonly missingCallerMessage =
    `Who is calling is not known: demo mode (SAMPLE_DEMO_AUTH=1) takes the caller from the ${DEMO_CALLER_HEADER} ` +
    `header (or ?${DEMO_CALLER_QUERY}= for an EventSource). Send one, e.g. -H '${DEMO_CALLER_HEADER}: ada'.`;

  /**
   * The claimed caller, or undefined when the request names none (or names several).
   * @throws UnauthorizedException for an id the module cannot store as an owner (over 255 characters,
   *   a NUL character, a lone surrogate).
   */
  authenticate(request: AuthenticatorRequest): Caller | undefined {
    const header = request.headers[DEMO_CALLER_HEADER];
    const query = request.query?.[DEMO_CALLER_QUERY];
    const claimed = typeof header === 'string' && header !== '' ? header : query;
    if (typeof claimed !== 'string' || claimed === '') return undefined;
    const problem =
      claimed.length > MAX_CONVERSATION_ID_LENGTH
        ? `it is ${claimed.length} characters long; at most ${MAX_CONVERSATION_ID_LENGTH} are allowed`
        : claimed.includes('\u0000')
          ? 'it contains a NUL character'
          : !claimed.isWellFormed()
            ? 'it contains a lone UTF-16 surrogate'
            : undefined;
    if (problem) throw new UnauthorizedException(`Invalid caller id: ${problem}. Send a shorter, plain id.`);
    return { id: claimed };
  }
}
