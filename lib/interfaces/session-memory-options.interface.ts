import type { ModuleMetadata, Provider, Type } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { CallerIdResolver, ConversationIdSource } from './conversation-id.interface';
import type { SessionMemoryChangesOptions } from './conversation-change.interface';
import type { SessionMemoryTtlOptions } from './maintenance.interface';
import type { SessionMemorySearchOptions } from './search.interface';
import type { SessionMemoryHistoryCacheOptions } from './history-cache.interface'; // ---- history cache

/**
 * What owner-scoped callers may do with a conversation that exists but has no recorded owner (made
 * before ownership was turned on, or by Python): `'claim'` (default): anyone may read it, and the
 * first owner-scoped write (a delete included) makes its caller the owner; `'deny'`: owner-scoped
 * callers are refused with `ConversationAccessDeniedError` until `SessionMemoryService.assignOwner`
 * gives it an owner. Either way a conversation that does not exist yet is created and claimed by
 * its first writer. Calls made without an owner are not affected.
 */
export type UnownedConversations = 'claim' | 'deny';

/** Which SQL family a store speaks (`SessionMemoryService.dialect`): MySQL and MariaDB are both `'mysql'`. */
export type SessionStoreDialect = 'postgres' | 'mysql' | 'sqlite';

/**
 * Table names. Each must be a plain SQL identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 48 characters),
 * short enough that every name derived from it fits the database's identifier limit (PostgreSQL 63
 * bytes, MySQL/MariaDB 64 characters; the longest is `idx_<messages>_session_time`, so `messages` is
 * at most 46 characters on PostgreSQL and 47 on MySQL/MariaDB), and the two names and those derived
 * from them (`<sessions>_metadata`, `<messages>_operations`, ...) must differ ignoring case.
 * Checked at startup (`SessionMemoryConfigurationError`).
 */
export interface SessionMemoryTablesOptions {
  /** The sessions table. Default `agent_sessions` (the Python SQLAlchemySession default). */
  sessions?: string;
  /** The messages table. Default `agent_messages` (the Python SQLAlchemySession default). */
  messages?: string;
  /** PostgreSQL only: the schema holding both tables. Default: the connection's `search_path`. */
  schema?: string;
}

/**
 * PostgreSQL: whether the tables are distributed over a Citus cluster (see `SessionMemoryModuleOptions.distribution`).
 * - `'auto'`: when the database has the `citus` extension (a Citus coordinator), as `'citus'`; else as `'none'`.
 * - `'citus'`: the Citus layout; startup fails when the database has no `citus` extension.
 * - `'none'`: plain PostgreSQL tables and statements, even on a Citus coordinator (the tables then stay
 *   on the coordinator); not for tables that are distributed already.
 */
export type SessionMemoryDistribution = 'auto' | 'citus' | 'none';

/** Size limits checked before anything is written. */
export interface SessionMemoryLimitsOptions {
  /**
   * Largest JSON text of one item, in UTF-8 bytes. Default 16 MiB (16,777,216): a 10 MiB tool output
   * (a screenshot, a file) fits. On MySQL/MariaDB the server's `max_allowed_packet` also bounds one
   * item (the module reads it at startup and refuses a larger item before writing, naming it).
   */
  maxItemBytes?: number;
  /**
   * Largest total JSON of one write (`addItems`, a history transaction, a compaction, the replacements
   * of one `applyHistoryMutations` call), in UTF-8
   * bytes. Default 64 MiB (67,108,864). On MySQL/MariaDB a batch larger than `max_allowed_packet` is
   * written as several statements in one transaction.
   */
  maxBatchBytes?: number;
  /**
   * Most writes of one conversation that run at once in this process (each holds or waits for a
   * pooled connection, or for the conversation's row lock). Default 2. A conversation stuck behind a
   * lock held elsewhere then takes at most this many connections from the others.
   */
  maxConcurrentPerConversation?: number;
  /**
   * A memory cap, not a concurrency limit: most further writes of one conversation that may wait in
   * this process for a turn. Waiting calls queue in order (as on the row lock in the database), so a
   * burst on a healthy conversation completes; a waiting call fails with
   * `SessionStorageUnavailableError` naming the conversation only once `timeouts.lockMs` has passed
   * without any of the conversation's operations completing (a conversation stuck behind a lock held
   * elsewhere). Past the cap a call fails at once, with the same error. Default 100,000 (0 to 10,000,000).
   */
  maxQueuedPerConversation?: number;
  /**
   * Most items in one `addItems` call, and most mutations in one `applyHistoryMutations` call (each
   * carries one replacement item to store). Default 10,000.
   */
  maxItemsPerCall?: number;
  /** Deepest nesting of objects and arrays inside one item. Default 128. */
  maxDepth?: number;
}

/**
 * Time limits of the database work behind one operation, so that a slow or locked conversation fails
 * fast with `SessionStorageUnavailableError` instead of holding a pooled connection. Applied to the
 * DataSource the module builds from `url`; a reused DataSource (`dataSource`) keeps its own settings.
 * `0` turns a limit off. Driver settings given in `dataSourceOptions` win (PostgreSQL `extra.statement_timeout`,
 * `extra.lock_timeout`, `extra.connectionTimeoutMillis`; MySQL `connectTimeout`; SQLite `timeout`).
 */
export interface SessionMemoryTimeoutsOptions {
  /**
   * Longest time one SQL statement may run. PostgreSQL `statement_timeout`, plus a client-side
   * `query_timeout` of `statementMs + max(connectMs, 1000)` for a server that cannot answer at all;
   * MariaDB `max_statement_time` (MySQL: `max_execution_time`, which only bounds reads). Not applied
   * on SQLite (statements are local and synchronous). Also bounds DDL run through the module's own
   * DataSource. Default 30,000 ms.
   */
  statementMs?: number;
  /**
   * Longest wait for a lock another transaction holds (another writer of the same conversation in
   * another process, a migration, a long transaction). PostgreSQL `lock_timeout`; MySQL/MariaDB
   * `innodb_lock_wait_timeout` (whole seconds, rounded up, at least 1); SQLite the busy timeout
   * (better-sqlite3 is synchronous: a writer waiting for another process's lock blocks the event
   * loop for up to this long). On Citus the row locks are taken on the workers, which the
   * coordinator's `lock_timeout` does not reach: there `statementMs` ends such waits (docs/citus.md).
   * Default 5,000 ms.
   */
  lockMs?: number;
  /**
   * Longest wait for a connection: to open one, and on PostgreSQL also for a free one in the pool
   * (`connectionTimeoutMillis`; MySQL/MariaDB: `connectTimeout`). Default 5,000 ms.
   */
  connectMs?: number;
}

/** Options of `SessionMemoryModule.forRoot()` (and what a `forRootAsync()` factory returns). */
export interface SessionMemoryModuleOptions {
  /**
   * Where to store conversations, when the module builds its own TypeORM DataSource:
   * `postgres://user:pass@host:5432/db` (or `postgresql://`), `mysql://user:pass@host:3306/db`
   * (or `mariadb://`), `sqlite:relative/or/absolute/path.db`, or `sqlite::memory:`.
   * The module owns that DataSource, never registers it as the application's default one, and
   * destroys it when the application closes. Ignored when `dataSource` is given.
   * Default: `sqlite:session-memory.db`.
   */
  url?: string;
  /**
   * Reuse an existing TypeORM DataSource instead of building one: the instance itself, or the name
   * under which `TypeOrmModule.forRoot({ name })` registered it (`'default'` for the unnamed one).
   * The module never destroys a reused DataSource.
   */
  dataSource?: DataSource | string;
  /** Extra TypeORM DataSource options for the DataSource the module builds (pool size via `extra`, `logging`, ...). */
  dataSourceOptions?: Record<string, unknown>;
  /** Table names (and PostgreSQL schema). */
  tables?: SessionMemoryTablesOptions;
  /**
   * Create the tables and indexes at startup if they are missing. Default `false`, except for an
   * SQLite URL where it defaults to `true`. In production, run the migrations instead.
   */
  createTables?: boolean;
  /**
   * PostgreSQL: distributed tables on a Citus cluster. On Citus, `createTables` (and the create
   * migration) distribute the sessions, messages, metadata, operations and owners tables by
   * `session_id`, colocated, with keys that hold `session_id` (the messages primary key is
   * `(session_id, id)`), and every per-conversation statement is pinned to that conversation's shard.
   * Default `'auto'`: Citus when the database has the `citus` extension. See docs/citus.md.
   */
  distribution?: SessionMemoryDistribution;
  /**
   * Removed: `getItems()` without a limit always returns the whole history, which the Agents SDK
   * runner relies on. Window what the model sees with `run(agent, input, { session,
   * sessionInputCallback: windowHistory({ maxItems }) })`. Setting it fails at startup.
   * @deprecated Use `windowHistory()`.
   */
  defaultLimit?: never;
  /** Size limits checked before anything is written. */
  limits?: SessionMemoryLimitsOptions;
  /** How the request-scoped session and `@Conversation()` read the conversation id. Default `{ header: 'x-conversation-id' }`. */
  conversationId?: ConversationIdSource;
  /**
   * Who the caller of a request is (a user or tenant id from your authentication), turning on
   * conversation ownership for `@Conversation()` and `@InjectConversationSession()`: the first
   * write of a conversation records its owner, and another caller's reads and writes of it are
   * refused with `ConversationAccessDeniedError` (403) before the handler runs. Returning nothing
   * answers 401. Owners are kept in `<sessions>_owners` (Python readers never see it). Service calls
   * take `{ owner }` for the same check (see `SessionAccessOptions`). Default: no ownership.
   */
  owner?: CallerIdResolver;
  /**
   * What owner-scoped callers may do with a conversation nobody owns (made before ownership was
   * turned on, or by Python): `'claim'` (default) or `'deny'` (see `UnownedConversations`; give such
   * conversations owners with `SessionMemoryService.assignOwner`).
   */
  unownedConversations?: UnownedConversations;
  /** Statement, lock and connection time limits (see `SessionMemoryTimeoutsOptions`). */
  timeouts?: SessionMemoryTimeoutsOptions;
  /**
   * Delete conversations idle for longer than this, on a timer the module owns (started when the
   * application has started, cleared at shutdown): milliseconds, a duration string (`'30d'`), or
   * `{ idleFor, every?, batchSize? }`. Every instance may run it; they skip each other's rows.
   * Default: off (call `SessionMemoryService.purgeExpired()` from your own scheduler instead).
   */
  ttl?: number | string | SessionMemoryTtlOptions;
  /** Encrypt every stored item (see `SessionMemoryEncryptionOptions`). Default: items are stored as JSON text. */
  encryption?: SessionMemoryEncryptionOptions;
  /** How `SessionMemoryService.changes$()` learns of changes (see `SessionMemoryChangesOptions`). */
  changes?: SessionMemoryChangesOptions;
  /**
   * The secret that signs `listSessions` cursors (HMAC-SHA256 with a key derived from it), at least 16
   * characters. Default: a random key per process, so a `nextCursor` is accepted only by the process
   * that made it, until it restarts. Set the same secret on every instance of a scaled-out app whose
   * clients may send a cursor to another instance than the one that made it. A cursor that does not
   * verify is refused with `InvalidManagementOptionsError`.
   */
  cursorSecret?: string;
  // ---- search
  /**
   * Full-text search over the stored conversations (`SessionMemoryService.searchConversations`), with
   * each database's own full-text index: `true`, or `{ language?, include? }` (see
   * `SessionMemorySearchOptions`, docs/search.md). Default: off, and then no search table is created,
   * read or written. Items of encrypted conversations are never indexed.
   */
  search?: boolean | SessionMemorySearchOptions;
  // ---- history cache
  /**
   * A per-process, byte-bounded cache of recently read conversations' whole histories: each whole read
   * (`getItems()` with no limit, the runner's read at every turn) sends one statement that checks the
   * cached rows are unchanged (by anyone: another instance, Python's `SQLAlchemySession`, a pop, a
   * compaction, a rewrite) and transfers only the rows added since. `true` (64 MiB) or `{ maxBytes }`
   * (see `SessionMemoryHistoryCacheOptions`, docs/history-cache.md). Items it returns are frozen
   * (shared between reads): copy one to change it. Not with `encryption.ttl`. Default: off.
   */
  historyCache?: boolean | SessionMemoryHistoryCacheOptions;
}

/**
 * Encryption of every stored item, in the format of the Python Agents SDK's `EncryptedSession` (each
 * can read what the other wrote). What is not encrypted: conversation ids, timestamps, metadata,
 * item counts and sizes, owners.
 */
export interface SessionMemoryEncryptionOptions {
  /**
   * Master keys: a Fernet-format key (url-safe base64 of 32 bytes, as `Fernet.generate_key()` makes)
   * or any passphrase. Several for rotation: the first encrypts, all decrypt
   * (`SessionMemoryService.reencrypt()` moves rows to the first). Keep them out of the source (a
   * secret manager, `ConfigService`).
   */
  keys: string | string[];
  /** Items older than this many seconds no longer decrypt (skipped like corrupt rows). Default: no limit. */
  ttl?: number;
  /**
   * For deployments where every row is encrypted: a stored row that is not an envelope (a plaintext
   * row, written by a plain writer or injected into the table) is refused like one no key opens:
   * skipped by reads with a warning, never returned as genuine, and never deleted by `popItem` (which
   * refuses with `UnreadableItemsError`). Default: false (plaintext rows, e.g. written before
   * encryption was turned on, are read as they are, as Python's `EncryptedSession` does).
   */
  strict?: boolean;
  /**
   * Bytes of decrypted items kept in memory per module instance, so that a history read again (every
   * turn) is not decrypted again; least recently used first out; `ttl` is still checked on every read.
   * 0 turns it off (no plaintext kept after a call). Default: 33554432 (32 MiB).
   */
  cacheBytes?: number;
}

/** Options shared by `forRoot` and `forRootAsync` that shape the module itself. */
export interface SessionMemoryModuleExtras {
  /** Register the module globally, so other modules need not import it. Default `false`. */
  isGlobal?: boolean;
  /**
   * Name of this instance, when an application uses more than one store. Inject it with
   * `@InjectSessionMemory(name)` and `@InjectConversationSession(name)`.
   */
  name?: string;
}

/** A class that builds the options, for `forRootAsync({ useClass })`. */
export interface SessionMemoryOptionsFactory {
  createSessionMemoryOptions(): SessionMemoryModuleOptions | Promise<SessionMemoryModuleOptions>;
}

/** Options of `SessionMemoryModule.forRootAsync()`. */
export interface SessionMemoryModuleAsyncOptions extends SessionMemoryModuleExtras, Pick<ModuleMetadata, 'imports'> {
  /** Providers to inject into `useFactory`. */
  inject?: any[];
  /** Builds the options; may be async. */
  useFactory?: (...args: any[]) => SessionMemoryModuleOptions | Promise<SessionMemoryModuleOptions>;
  /** A class implementing `SessionMemoryOptionsFactory`, instantiated by the module. */
  useClass?: Type<SessionMemoryOptionsFactory>;
  /** An existing provider implementing `SessionMemoryOptionsFactory`. */
  useExisting?: Type<SessionMemoryOptionsFactory>;
  /** More providers for this module (e.g. what `useClass` needs). */
  extraProviders?: Provider[];
  /**
   * The name of a TypeORM DataSource of the application to reuse (`'default'` for the unnamed one),
   * when the options factory returns `dataSource: '<name>'`: naming it here lets Nest inject it, so
   * that TypeOrmModule has connected it before this module starts. Same as `dataSource` in `forRoot`.
   */
  dataSource?: string;
}
