import type { Request } from 'express';

/**
 * Who is calling, as the application's authentication established it. `id` is what conversations are
 * owned by (the module's `owner` option): a stable user id, at most 255 characters, never a display
 * name or an e-mail address that can change.
 */
export interface Caller {
  readonly id: string;
}

/** An HTTP request, with the caller `CallerGuard` set on it (undefined before the guard ran). */
export interface AuthenticatedRequest extends Request {
  caller?: Caller;
}
