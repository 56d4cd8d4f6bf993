import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ChangeHub } from './changes/change-hub';
import { PostgresChangeRelay } from './changes/postgres-change-relay';
import { SessionMemoryConfigurationError, SessionStorageUnavailableError } from './exceptions';
import { SESSION_MEMORY } from './exceptions/message-prefix';
import type { SessionItem, SessionMemoryModuleOptions } from './interfaces';
import { RetentionTimer } from './management/retention';
import { ConversationLimiter, guardConversation } from './storage/conversation-limiter';
import {
  rejectRemovedOptions,
  resolveCursorKey,
  resolveCodec,
  resolveConcurrencyLimits,
  resolveLimits,
  resolveTables,
  resolveTimeouts,
  resolveTtl,
} from './options/session-memory-options.resolver';
import type { SessionMemoryContext } from './session-memory.context';
import { SessionMemoryService } from './session-memory.service';
import {
  DEFAULT_SESSION_MEMORY_URL,
  dataSourceOptionsFromUrl,
  redactUrl,
  sessionMemoryDataSourceName,
} from './storage/data-source.factory';
import { OperationGate } from './storage/operation-gate';
import { OptionalTablesProbe } from './storage/optional-tables';
import { findReusedDataSource } from './storage/reused-data-source';
import { assertSchemaSupported, createSessionStore } from './storage/session-store.factory';
import { parseJsonObject } from './validation/json-object';

/**
 * Builds the `SessionMemoryService` of one module instance: resolves the options (all of them before
 * connecting), opens or reuses the DataSource, builds the dialect's store, creates or verifies the
 * tables, and wires the change stream and the `ttl` timer. On failure, closes whatever it opened.
 * @internal
 */
export async function createSessionMemoryService(
  options: SessionMemoryModuleOptions,
  moduleRef: ModuleRef,
  instanceName: string,
  injectedDataSource?: DataSource,
): Promise<SessionMemoryService> {
  const logger = new Logger(instanceName === 'default' ? 'SessionMemory' : `SessionMemory:${instanceName}`);
  const tables = resolveTables(options);
  const limits = resolveLimits(options);
  const concurrency = resolveConcurrencyLimits(options);
  const codec = resolveCodec(options);
  rejectRemovedOptions(options);
  const timeouts = resolveTimeouts(options);
  const ttl = resolveTtl(options);
  const cursorKey = resolveCursorKey(options);

  let dataSource: DataSource;
  let owned = false;
  let createTables = options.createTables;
  if (options.dataSource !== undefined) {
    dataSource =
      typeof options.dataSource === 'string'
        ? findReusedDataSource(moduleRef, options.dataSource, injectedDataSource)
        : options.dataSource;
    if (!dataSource.isInitialized) {
      throw new SessionMemoryConfigurationError(
        `${SESSION_MEMORY}: the reused DataSource is not initialized. Call dataSource.initialize() first, or let TypeOrmModule do it.`,
      );
    }
  } else {
    const url = options.url ?? DEFAULT_SESSION_MEMORY_URL;
    const dsOptions = dataSourceOptionsFromUrl(url, options.dataSourceOptions, timeouts);
    assertSchemaSupported(dsOptions.type, tables);
    if (createTables === undefined) createTables = dsOptions.type === 'better-sqlite3';
    // Named after the module instance; never registered with @nestjs/typeorm, so it cannot replace
    // the application's default DataSource.
    dataSource = new DataSource({ ...dsOptions, name: sessionMemoryDataSourceName(instanceName) } as DataSourceOptions);
    try {
      await dataSource.initialize();
    } catch (err) {
      throw new SessionStorageUnavailableError(
        `${SESSION_MEMORY} could not connect to ${redactUrl(url)}: ${(err as Error).message}. Check that the database is running and the url is right.`,
        { cause: err },
      );
    }
    owned = true;
  }

  try {
    const store = await createSessionStore(dataSource, tables, owned ? timeouts : undefined);
    const notify = options.changes?.notify === true;
    if (notify && !store.notifications) {
      throw new SessionMemoryConfigurationError(
        `${SESSION_MEMORY}: changes.notify needs PostgreSQL (LISTEN/NOTIFY); this store is ${store.dialect}. ` +
          'Remove the option: changes$() still reports the changes made through this process.',
      );
    }
    if (createTables) await store.createTables();
    else await store.verifyTables();
    const optionalTables = new OptionalTablesProbe(store);
    await optionalTables.refresh();
    const relay =
      notify && store.notifications
        ? new PostgresChangeRelay(store.notifications, tables, logger, limits.maxItemsPerCall)
        : undefined;
    // Remote changes are checked against the rows (with their ids), through the gate like any read.
    const changes = new ChangeHub(
      logger,
      relay,
      (conversationId, limit, beforeId) =>
        guardConversation(context, 'changes$', conversationId, () => store.readNewest(conversationId, limit, beforeId)),
      // Stored texts are opened as every read opens them (plaintext, or the `encryption` envelope).
      (conversationId, stored) => parseJsonObject(codec.open(conversationId, stored) ?? '') as SessionItem | undefined,
      limits.maxItemsPerCall,
    );
    const context: SessionMemoryContext = {
      store,
      gate: new OperationGate(),
      limiter: new ConversationLimiter(
        concurrency.maxConcurrentPerConversation,
        concurrency.maxQueuedPerConversation,
        timeouts.lockMs,
      ),
      limits,
      codec,
      logger,
      optionalTables,
      changes,
      cursorKey,
    };
    return new SessionMemoryService(context, dataSource, owned, ttl && new RetentionTimer(context, ttl));
  } catch (err) {
    if (owned) await dataSource.destroy().catch(() => undefined);
    throw err;
  }
}
