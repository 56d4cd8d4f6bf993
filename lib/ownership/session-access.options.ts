/** Declared with the public types (lib/interfaces). */
export type { SessionAccessOptions } from '../interfaces/conversation-management.interface';
