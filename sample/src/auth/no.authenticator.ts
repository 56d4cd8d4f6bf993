import type { Caller } from './caller';
import { CallerAuthenticator } from './caller-authenticator';

/**
 * The sample's authenticator when demo mode is off and the application has plugged none: it finds no
 * caller in any request, so every API request is refused with 401, saying how to plug real
 * authentication. (Trusting a header by default would let anyone read anyone's conversations.)
 */
export class NoAuthenticator extends CallerAuthenticator {
  readonly missingCallerMessage =
    'Who is calling is not known: this server has no authentication configured. Provide a CallerAuthenticator ' +
    'that returns the caller your authentication established (sample/src/auth/caller-authenticator.ts), or, ' +
    'to try the sample locally, start it with SAMPLE_DEMO_AUTH=1 (anyone can then claim any identity with an ' +
    'x-caller-id header).';

  authenticate(): Caller | undefined {
    return undefined;
  }
}
