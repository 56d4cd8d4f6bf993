import type { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ConversationSession } from '../conversation-session';
import { InvalidManagementOptionsError, SessionMemoryConfigurationError } from '../exceptions';
import type { SessionMemoryModuleOptions } from '../interfaces';
import type { SessionMemoryContext } from '../session-memory.context';
import type { OperationGate } from '../storage/operation-gate';
import type { ResolvedTables, SessionStore } from '../storage/session-store';
import { createStoreExtensions } from '../storage/store-extensions.factory';
import type { ItemLimits } from '../validation';
import { ResolvedTtl, SessionFeatures, resolveTtl } from './session-features';

/**
 * Builds the management features of a module instance at startup: checks the `ttl` and `changes`
 * options, creates (with `createTables`) and finds the optional tables.
 * @internal
 */
export async function createSessionFeatures(
  options: SessionMemoryModuleOptions,
  dataSource: DataSource,
  store: SessionStore,
  tables: ResolvedTables,
  gate: OperationGate,
  limits: ItemLimits,
  logger: Logger,
  createTables: boolean,
): Promise<SessionFeatures> {
  let ttl: ResolvedTtl | undefined;
  try {
    ttl = resolveTtl(options.ttl);
  } catch (err) {
    if (err instanceof InvalidManagementOptionsError) throw new SessionMemoryConfigurationError(`SessionMemoryModule: ${err.message}`);
    throw err;
  }
  const extensions = await createStoreExtensions(dataSource, store, tables);
  // Remote `added` changes are re-read through an ordinary session of this instance.
  let context: SessionMemoryContext | undefined;
  const features = new SessionFeatures(
    extensions,
    gate,
    limits,
    logger,
    store.dialect,
    tables,
    { notify: options.changes?.notify === true, ttl },
    (conversationId, count) => new ConversationSession(conversationId, context!).getItems(count),
  );
  context = { store, gate, limits, defaultLimit: undefined, logger, features };
  await features.init(createTables);
  return features;
}
