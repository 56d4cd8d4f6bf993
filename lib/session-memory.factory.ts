import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { statSync } from 'fs';
import { dirname, resolve } from 'path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ChangeHub } from './changes/change-hub';
import { PostgresChangeRelay } from './changes/postgres-change-relay';
import { SessionMemoryConfigurationError, SessionStorageUnavailableError } from './exceptions';
import { resolveOperationDigest } from './encryption/operation-digest';
import { SealingStore } from './encryption/sealing-store';
import { itemOf } from './history/history-reader';
import type { SessionMemoryModuleOptions } from './interfaces';
import { RetentionTimer } from './management/retention';
import { assertTableNamesFit } from './options/table-name-limits';
import { ConversationLimiter, guardConversation } from './storage/conversation-limiter';
import {
  rejectRemovedOptions,
  resolveCursorKey,
  resolveCodec,
  resolveConcurrencyLimits,
  resolveDistribution,
  resolveLimits,
  resolveTables,
  resolveTimeouts,
  resolveTtl,
  resolveUnownedConversations,
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
import { assertSchemaSupported, createSessionStore, dialectOfDataSourceType } from './storage/session-store.factory';
// ---- search
import { withSearchIndex } from './search/indexing-store';
import { createSearchIndex } from './search/search-layer';
import { resolveSearch } from './search/search-options';
// ---- history cache
import { HistoryCache } from './history/history-cache';
import { resolveHistoryCache } from './options/history-cache.option';
import { CitusSessionStore } from './storage/citus/citus-session.store';
import { historyDeltaQuery } from './storage/history-cache/history-delta.reader';

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
  const operationDigest = resolveOperationDigest(options); // after resolveCodec checked the keys
  rejectRemovedOptions(options);
  const timeouts = resolveTimeouts(options);
  const ttl = resolveTtl(options);
  const cursorKey = resolveCursorKey(options);
  const distribution = resolveDistribution(options);
  const unownedConversations = resolveUnownedConversations(options);
  const search = resolveSearch(options.search, options.encryption); // ---- search
  const historyCacheOption = resolveHistoryCache(options.historyCache, options.encryption); // ---- history cache

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
        `the reused DataSource is not initialized. Call dataSource.initialize() first, or let TypeOrmModule do it.`,
      );
    }
    const dialect = dialectOfDataSourceType(String(dataSource.options.type));
    if (dialect) assertTableNamesFit(tables, dialect);
  } else {
    const url = options.url ?? DEFAULT_SESSION_MEMORY_URL;
    const dsOptions = sqlitePathErrors(url, () => dataSourceOptionsFromUrl(url, options.dataSourceOptions, timeouts));
    assertSchemaSupported(dsOptions.type, tables);
    assertTableNamesFit(tables, dialectOfDataSourceType(dsOptions.type) ?? 'sqlite');
    if (createTables === undefined) createTables = dsOptions.type === 'better-sqlite3';
    // Named after the module instance; never registered with @nestjs/typeorm, so it cannot replace
    // the application's default DataSource.
    dataSource = new DataSource({ ...dsOptions, name: sessionMemoryDataSourceName(instanceName) } as DataSourceOptions);
    try {
      await dataSource.initialize();
    } catch (err) {
      const unusableFile = sqliteFileError(dsOptions, err);
      if (unusableFile) throw unusableFile;
      throw new SessionStorageUnavailableError(
        `could not connect to ${redactUrl(url)}: ${(err as Error).message}. Check that the database is running and the url is right.`,
        { cause: err },
      );
    }
    owned = true;
  }

  try {
    const baseStore = await createSessionStore(dataSource, tables, owned ? timeouts : undefined, distribution);
    // ---- search (lib/search): the index layer around the store when the `search` option is on
    const searchIndex = search && (await createSearchIndex(search, baseStore, dataSource, tables, logger));
    const store = searchIndex ? withSearchIndex(baseStore, searchIndex) : baseStore;
    const notify = options.changes?.notify === true;
    if (notify && !store.notifications) {
      throw new SessionMemoryConfigurationError(
        `changes.notify needs PostgreSQL (LISTEN/NOTIFY); this store is ${store.dialect}. ` +
          'Remove the option: changes$() still reports the changes made through this process.',
      );
    }
    if (createTables) await store.createTables();
    else await store.verifyTables();
    const optionalTables = new OptionalTablesProbe(store);
    await optionalTables.refresh();
    store.useBranches(optionalTables.current.branches);
    searchIndex?.useBranches(() => optionalTables.current.branches);
    const relay =
      notify && store.notifications
        ? new PostgresChangeRelay(store.notifications, tables, logger, limits.maxItemsPerCall)
        : undefined;
    // Built in dependency order: the sealing layer and the guards first, then the change hub that uses
    // them, then the context that holds them all.
    const items = new SealingStore(store, codec);
    const gate = new OperationGate();
    searchIndex?.useGate(gate); // ---- search
    const limiter = new ConversationLimiter(
      concurrency.maxConcurrentPerConversation,
      concurrency.maxQueuedPerConversation,
      timeouts.lockMs,
    );
    // Remote changes are checked against the rows (with their ids, in plaintext), through the gate like any read.
    const changes = new ChangeHub(
      logger,
      relay,
      (conversationId, limit, beforeId) =>
        guardConversation({ gate, limiter }, 'changes$', conversationId, () =>
          items.readNewest(conversationId, limit, beforeId),
        ),
      (_conversationId, json) => itemOf(json),
      limits.maxItemsPerCall,
    );
    const context: SessionMemoryContext = {
      store,
      items,
      gate,
      limiter,
      limits,
      codec,
      operationDigest,
      logger,
      optionalTables,
      changes,
      cursorKey,
      unownedConversations,
      search: searchIndex, // ---- search
      // ---- history cache: validated by one statement on the store's own driver handles
      historyCache:
        historyCacheOption &&
        new HistoryCache(
          historyCacheOption.maxBytes,
          historyDeltaQuery(dataSource, tables, baseStore.dialect, baseStore instanceof CitusSessionStore),
          codec,
        ),
    };
    return new SessionMemoryService(context, dataSource, owned, ttl && new RetentionTimer(context, ttl));
  } catch (err) {
    if (owned) await dataSource.destroy().catch(() => undefined);
    throw err;
  }
}

/** Node's error for a path it could not use (`mkdir` of the SQLite file's directory). */
interface PathError extends Error {
  code?: string;
  path?: string;
}

/**
 * Runs `build` (which creates the directory of an SQLite url's file) and turns a file-system error
 * into a configuration error that says what is wrong with the path, instead of a raw `EEXIST` /
 * `ENOTDIR` / `EACCES`.
 */
function sqlitePathErrors<T>(url: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    const { code, path } = err as PathError;
    if (err instanceof SessionMemoryConfigurationError || typeof code !== 'string' || typeof path !== 'string')
      throw err;
    const blocker = code === 'EEXIST' || code === 'ENOTDIR' ? fileOnPath(path) : undefined;
    const why = blocker
      ? `${blocker} is a file, not a directory, so no database file can be created under it`
      : `the directory ${path} cannot be created (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code})`;
    throw new SessionMemoryConfigurationError(
      `cannot use url ${JSON.stringify(redactUrl(url))}: ${why}. Point the url at a file in a directory ` +
        'this process may write (e.g. sqlite:data/session-memory.db), or use sqlite::memory:.',
      { cause: err },
    );
  }
}

/** The first existing path among `dir` and its ancestors (outermost first) that is not a directory, if any. */
function fileOnPath(dir: string): string | undefined {
  const chain: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    chain.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const at of chain) {
    try {
      if (!statSync(at).isDirectory()) return at;
    } catch {
      return undefined; // missing from here on: mkdir would have made it
    }
  }
  return undefined;
}

/**
 * A configuration error for an SQLite file better-sqlite3 could not open as a database (a file that
 * is not one, a directory, no permission), instead of "check that the database is running";
 * `undefined` for anything else.
 */
function sqliteFileError(dsOptions: DataSourceOptions, err: unknown): SessionMemoryConfigurationError | undefined {
  if (dsOptions.type !== 'better-sqlite3') return undefined;
  const code = (err as { code?: unknown }).code;
  const file = resolve(String(dsOptions.database));
  let problem: string | undefined;
  if (code === 'SQLITE_NOTADB') {
    problem = `${file} exists but is not an SQLite database (or is encrypted)`;
  } else if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    let isDirectory = false;
    try {
      isDirectory = statSync(file).isDirectory();
    } catch {
      // missing: the directory could not be written
    }
    problem = isDirectory
      ? `${file} is a directory, not a database file`
      : `${file} cannot be opened for writing (${(err as Error).message}): check the permissions of the file and its directory`;
  }
  if (!problem) return undefined;
  return new SessionMemoryConfigurationError(
    `cannot use the SQLite url: ${problem}. Point the url at a new or existing SQLite database file (e.g. sqlite:data/session-memory.db).`,
    { cause: err },
  );
}
