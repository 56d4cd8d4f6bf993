import { SetMetadata } from '@nestjs/common';

/** Metadata key of `@PublicRoute()`. */
export const PUBLIC_ROUTE = 'sample:publicRoute';

/**
 * Marks a controller or handler that `CallerGuard` lets through without a caller (the chat page's own
 * files). Every other route needs one: a new controller is protected unless it says otherwise.
 */
export const PublicRoute = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC_ROUTE, true);
