import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { DataSource, DataSourceOptions } from 'typeorm';
import { SessionMemoryConfigurationError, SessionStorageUnavailableError } from './exceptions';
import type { SessionMemoryModuleOptions } from './interfaces';
import type { SessionMemoryContext } from './session-memory.context';
import { SessionMemoryService } from './session-memory.service';
import { DEFAULT_SESSION_MEMORY_URL, DEFAULT_TIMEOUTS, ResolvedTimeouts, dataSourceOptionsFromUrl, redactUrl } from './storage/data-source.factory';
import { MysqlSessionStore } from './storage/dialects/mysql.store';
import { OperationGate } from './storage/operation-gate';
import type { ResolvedTables } from './storage/session-store';
import { assertSchemaSupported, createSessionStore } from './storage/session-store.factory';
import { createSessionFeatures } from './management/session-features.factory';
import { DEFAULT_ITEM_LIMITS, ItemLimits, assertIdentifier, assertLimit } from './validation';

/** Checks the options and fills in defaults; throws `SessionMemoryConfigurationError` for a bad one. @internal */
export function resolveTables(options: SessionMemoryModuleOptions): ResolvedTables {
  const t = options.tables ?? {};
  const tables: ResolvedTables = {
    sessions: assertIdentifier(t.sessions ?? 'agent_sessions', 'tables.sessions'),
    messages: assertIdentifier(t.messages ?? 'agent_messages', 'tables.messages'),
  };
  if (t.schema !== undefined) tables.schema = assertIdentifier(t.schema, 'tables.schema');
  if (tables.sessions === tables.messages) {
    throw new SessionMemoryConfigurationError('Options tables.sessions and tables.messages name the same table. Give them different names.');
  }
  return tables;
}

function resolveLimits(options: SessionMemoryModuleOptions): ItemLimits {
  const limits = { ...DEFAULT_ITEM_LIMITS, ...(options.limits ?? {}) };
  for (const key of Object.keys(DEFAULT_ITEM_LIMITS) as (keyof ItemLimits)[]) {
    const v = limits[key];
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new SessionMemoryConfigurationError(`Option limits.${key} is ${String(v)}: it must be a whole number > 0.`);
    }
  }
  return limits;
}

function resolveTimeouts(options: SessionMemoryModuleOptions): ResolvedTimeouts {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...(options.timeouts ?? {}) };
  for (const key of Object.keys(DEFAULT_TIMEOUTS) as (keyof ResolvedTimeouts)[]) {
    const v = timeouts[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new SessionMemoryConfigurationError(`Option timeouts.${key} is ${String(v)}: it must be a whole number of milliseconds >= 0 (0 turns it off).`);
    }
  }
  return timeouts;
}

/** The name of the TypeORM DataSource a module instance builds from its `url`. */
export function sessionMemoryDataSourceName(instanceName: string): string {
  return `nestjs-session-memory:${instanceName}`;
}

/** Token under which `@nestjs/typeorm` registers a DataSource of that name. @internal */
export function typeOrmDataSourceToken(name: string): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { getDataSourceToken } = require('@nestjs/typeorm');
    return getDataSourceToken(name === 'default' ? undefined : name);
  } catch {
    return name === 'default' ? DataSource : `${name}DataSource`;
  }
}

/** How long `dataSource: '<name>'` from `forRootAsync` waits for TypeOrmModule to finish connecting. */
const REUSED_DATA_SOURCE_WAIT_MS = 30_000;

/**
 * The application's DataSource registered under `name`. `forRoot` injects it (so Nest builds it
 * first) and passes it as `injected`. `forRootAsync` learns the name only at startup, while
 * TypeOrmModule may still be connecting: Nest builds the providers of all modules concurrently, so a
 * DataSource that is registered but not built yet is waited for.
 */
async function findTypeOrmDataSource(moduleRef: ModuleRef, name: string, injected: DataSource | undefined): Promise<DataSource> {
  if (injected) return injected;
  const token = typeOrmDataSourceToken(name) as string;
  const lookup = (): DataSource | null | undefined => moduleRef.get(token, { strict: false });
  let found: DataSource | null | undefined;
  try {
    found = lookup();
  } catch {
    throw new SessionMemoryConfigurationError(
      `SessionMemoryModule: no TypeORM DataSource named "${name}" is registered. Import TypeOrmModule.forRoot({ name: '${name}', ... }) in the application (no name for 'default'), or pass the DataSource instance as \`dataSource\`.`,
    );
  }
  const deadline = Date.now() + REUSED_DATA_SOURCE_WAIT_MS;
  while (!found) {
    if (Date.now() > deadline) {
      throw new SessionMemoryConfigurationError(
        `SessionMemoryModule: the TypeORM DataSource "${name}" is registered but was not ready after ${REUSED_DATA_SOURCE_WAIT_MS / 1000} s. ` +
          `Check that it can connect, or inject it: forRootAsync({ inject: [getDataSourceToken(${name === 'default' ? '' : `'${name}'`})], useFactory: (dataSource) => ({ dataSource }) }).`,
      );
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 10).unref());
    found = lookup();
  }
  return found;
}

/**
 * Builds the `SessionMemoryService` of one module instance: opens (or reuses) the DataSource, builds
 * the dialect's store, creates or verifies the tables. On failure, closes whatever it opened.
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
  try {
    assertLimit(options.defaultLimit, 'Option defaultLimit');
  } catch (err) {
    throw new SessionMemoryConfigurationError(`SessionMemoryModule: ${(err as Error).message}`);
  }
  const timeouts = resolveTimeouts(options);

  let dataSource: DataSource;
  let owned = false;
  let createTables = options.createTables;
  if (options.dataSource !== undefined) {
    if (typeof options.dataSource === 'string') {
      dataSource = await findTypeOrmDataSource(moduleRef, options.dataSource, injectedDataSource);
    } else {
      dataSource = options.dataSource;
    }
    if (!dataSource.isInitialized) {
      throw new SessionMemoryConfigurationError(
        'SessionMemoryModule: the reused DataSource is not initialized. Call dataSource.initialize() first, or let TypeOrmModule do it.',
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
        `SessionMemoryModule could not connect to ${redactUrl(url)}: ${(err as Error).message}. Check that the database is running and the url is right.`,
        { cause: err },
      );
    }
    owned = true;
  }

  try {
    const store = await createSessionStore(dataSource, tables);
    // PostgreSQL and SQLite get theirs from the DataSource options; MySQL/MariaDB needs a SET per connection.
    if (owned && store instanceof MysqlSessionStore) await store.useSessionTimeouts(timeouts);
    if (createTables) await store.createTables();
    else await store.verifyTables();
    const gate = new OperationGate();
    const features = await createSessionFeatures(options, dataSource, store, tables, gate, limits, logger, createTables === true);
    const context: SessionMemoryContext = {
      store,
      gate,
      limits,
      defaultLimit: options.defaultLimit,
      logger,
      features,
    };
    return new SessionMemoryService(context, dataSource, owned);
  } catch (err) {
    if (owned) await dataSource.destroy().catch(() => undefined);
    throw err;
  }
}
