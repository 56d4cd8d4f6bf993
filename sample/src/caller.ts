/** The caller of a request without an `x-caller-id` header or a `caller` query parameter. */
export const DEFAULT_CALLER = 'anonymous';

/** What `callerOf` reads of a request (an Express request has both). */
export interface CallerRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
}

/**
 * Who is calling, for the module's `owner` option: the `x-caller-id` header, else the `caller` query
 * parameter (EventSource cannot send headers, so the chat page's live-update stream names its caller in
 * the URL), else `anonymous`.
 *
 * A DEMO ONLY: any client can claim any id this way. A real application returns the user id its
 * authentication established (e.g. `request.user.id` after a guard), and never takes it from the URL.
 */
export function callerOf(request: CallerRequest): string {
  const header = request.headers['x-caller-id'];
  if (typeof header === 'string' && header !== '') return header;
  const query = request.query?.caller;
  if (typeof query === 'string' && query !== '') return query;
  return DEFAULT_CALLER;
}
