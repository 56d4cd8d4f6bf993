import type { Logger } from '@nestjs/common';
import type { SessionFeatures } from './management/session-features';
import type { SessionStore } from './storage/session-store';
import type { OperationGate } from './storage/operation-gate';
import type { ItemLimits } from './validation';

/**
 * What every `ConversationSession` of one module instance shares: the store, the operation gate and
 * the resolved options. Built once at startup, so creating a session costs one small object.
 * @internal
 */
export interface SessionMemoryContext {
  readonly store: SessionStore;
  readonly gate: OperationGate;
  readonly limits: ItemLimits;
  readonly defaultLimit: number | undefined;
  readonly logger: Logger;
  /** Listing, retention, metadata, history transactions and the change stream (lib/management). */
  readonly features?: SessionFeatures;
}
