/**
 * The package's public API, pinned: the names `lib/index.ts` exports (README, "API"). Adding, removing
 * or renaming one fails this test on purpose; update the lists, the README's API section and the
 * changelog together, as a conscious change of the API.
 *
 * Values are read from the module at run time; type-only exports are listed by the TypeScript
 * checker (they do not exist at run time), and the `import type` below makes `npm run typecheck`
 * fail when one of them disappears.
 */
import { join } from 'path';
import * as ts from 'typescript';
import type {
  AddItemsOptions,
  BranchInfo,
  BranchReadOptions,
  CallerIdResolver,
  ConversationChange,
  ConversationChangeOrigin,
  ConversationCleared,
  ConversationIdResolver,
  ConversationIdSource,
  ConversationItemPopped,
  ConversationItemsAdded,
  ConversationTurn,
  CreateBranchOptions,
  DeleteBranchOptions,
  Duration,
  ListSessionsOptions,
  PurgeExpiredOptions,
  ReencryptOptions,
  ReencryptResult,
  ReindexOptions,
  ReindexResult,
  SearchConversationsOptions,
  SearchHighlight,
  SearchHit,
  SearchInclude,
  SearchPage,
  SessionAccessOptions,
  SessionItem,
  SessionMemoryChangesOptions,
  SessionMemoryDistribution,
  SessionMemoryEncryptionOptions,
  SessionMemoryHealthCheckOptions,
  SessionMemoryHealthResult,
  SessionMemoryHistoryCacheOptions,
  SessionMemoryLimitsOptions,
  SessionMemoryMigrationClass,
  SessionMemoryMigrationOptions,
  SessionMemoryModuleAsyncOptions,
  SessionMemoryModuleExtras,
  SessionMemoryModuleOptions,
  SessionMemoryOptionsFactory,
  SessionMemorySearchMigrationOptions,
  SessionMemorySearchOptions,
  SessionMemoryTablesOptions,
  SessionMemoryTimeoutsOptions,
  SessionMemoryTtlOptions,
  SessionMetadata,
  SessionPage,
  SessionStoreDialect,
  SessionSummary,
  SessionUsage,
  ToolUsage,
  TurnItem,
  TurnItems,
  TurnUsage,
  UnownedConversations,
  UsageQuery,
  UsageSummary,
  UsageTotals,
  WindowHistoryOptions,
} from '../../lib';

/** The runtime exports: classes, decorators, functions and constants. */
const VALUES = [
  'BranchNotFoundError',
  'Conversation',
  'ConversationAccessDeniedError',
  'ConversationSession',
  'DEFAULT_ITEM_LIMITS',
  'HistoryOperationConflictError',
  'HistorySuffixMismatchError',
  'HistoryTransactionRejectedError',
  'InjectConversationSession',
  'InjectSessionMemory',
  'InvalidBranchOperationError',
  'InvalidConversationIdError',
  'InvalidHistoryMutationError',
  'InvalidHistoryTransactionError',
  'InvalidLimitError',
  'InvalidManagementOptionsError',
  'InvalidOwnerError',
  'InvalidSessionInputError',
  'InvalidSessionItemsError',
  'InvalidSessionMetadataError',
  'MAX_CONVERSATION_ID_LENGTH',
  'MAX_METADATA_BYTES',
  'SessionMemoryConfigurationError',
  'SessionMemoryError',
  'SessionMemoryHealthIndicator',
  'SessionMemoryModule',
  'SessionMemoryService',
  'SessionNotFoundError',
  'SessionStorageError',
  'SessionStorageUnavailableError',
  'UnreadableItemsError',
  'createSessionMemoryMigration',
  'createSessionMemorySearchMigration',
  'createSessionMemoryUpgradeMigration',
  'getConversationSessionToken',
  'getSessionMemoryOptionsToken',
  'getSessionMemoryToken',
  'windowHistory',
];

/** The type-only exports: option, item, page and change types. */
const TYPES = [
  'AddItemsOptions',
  'BranchInfo',
  'BranchReadOptions',
  'CallerIdResolver',
  'ConversationChange',
  'ConversationChangeOrigin',
  'ConversationCleared',
  'ConversationIdResolver',
  'ConversationIdSource',
  'ConversationItemPopped',
  'ConversationItemsAdded',
  'ConversationTurn',
  'CreateBranchOptions',
  'DeleteBranchOptions',
  'Duration',
  'ListSessionsOptions',
  'PurgeExpiredOptions',
  'ReencryptOptions',
  'ReencryptResult',
  'ReindexOptions',
  'ReindexResult',
  'SearchConversationsOptions',
  'SearchHighlight',
  'SearchHit',
  'SearchInclude',
  'SearchPage',
  'SessionAccessOptions',
  'SessionItem',
  'SessionMemoryChangesOptions',
  'SessionMemoryDistribution',
  'SessionMemoryEncryptionOptions',
  'SessionMemoryHealthCheckOptions',
  'SessionMemoryHealthResult',
  'SessionMemoryHistoryCacheOptions',
  'SessionMemoryLimitsOptions',
  'SessionMemoryMigrationClass',
  'SessionMemoryMigrationOptions',
  'SessionMemoryModuleAsyncOptions',
  'SessionMemoryModuleExtras',
  'SessionMemoryModuleOptions',
  'SessionMemoryOptionsFactory',
  'SessionMemorySearchMigrationOptions',
  'SessionMemorySearchOptions',
  'SessionMemoryTablesOptions',
  'SessionMemoryTimeoutsOptions',
  'SessionMemoryTtlOptions',
  'SessionMetadata',
  'SessionPage',
  'SessionStoreDialect',
  'SessionSummary',
  'SessionUsage',
  'ToolUsage',
  'TurnItem',
  'TurnItems',
  'TurnUsage',
  'UnownedConversations',
  'UsageQuery',
  'UsageSummary',
  'UsageTotals',
  'WindowHistoryOptions',
];

/** Uses every type import, so that the compiler checks each one exists. */
export type PinnedTypes = [
  AddItemsOptions,
  BranchInfo,
  BranchReadOptions,
  CallerIdResolver,
  ConversationChange,
  ConversationChangeOrigin,
  ConversationCleared,
  ConversationIdResolver,
  ConversationIdSource,
  ConversationItemPopped,
  ConversationItemsAdded,
  ConversationTurn,
  CreateBranchOptions,
  DeleteBranchOptions,
  Duration,
  ListSessionsOptions,
  PurgeExpiredOptions,
  ReencryptOptions,
  ReencryptResult,
  ReindexOptions,
  ReindexResult,
  SearchConversationsOptions,
  SearchHighlight,
  SearchHit,
  SearchInclude,
  SearchPage,
  SessionAccessOptions,
  SessionItem,
  SessionMemoryChangesOptions,
  SessionMemoryDistribution,
  SessionMemoryEncryptionOptions,
  SessionMemoryHealthCheckOptions,
  SessionMemoryHealthResult,
  SessionMemoryHistoryCacheOptions,
  SessionMemoryLimitsOptions,
  SessionMemoryMigrationClass,
  SessionMemoryMigrationOptions,
  SessionMemoryModuleAsyncOptions,
  SessionMemoryModuleExtras,
  SessionMemoryModuleOptions,
  SessionMemoryOptionsFactory,
  SessionMemorySearchMigrationOptions,
  SessionMemorySearchOptions,
  SessionMemoryTablesOptions,
  SessionMemoryTimeoutsOptions,
  SessionMemoryTtlOptions,
  SessionMetadata,
  SessionPage,
  SessionStoreDialect,
  SessionSummary,
  SessionUsage,
  ToolUsage,
  TurnItem,
  TurnItems,
  TurnUsage,
  UnownedConversations,
  UsageQuery,
  UsageSummary,
  UsageTotals,
  WindowHistoryOptions,
];

/** The exports of lib/index.ts as the TypeScript checker sees them, split into values and type-only names. */
function checkedExports(): { values: string[]; types: string[] } {
  const index = join(__dirname, '../../lib/index.ts');
  const program = ts.createProgram([index], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
  const values: string[] = [];
  const types: string[] = [];
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
  }
  return { values: values.sort(), types: types.sort() };
}

describe('public API (lib/index.ts)', () => {
  it('exports exactly these values at run time', () => {
    expect(Object.keys(require('../../lib')).sort()).toEqual([...VALUES].sort());
  });

  it('exports exactly these values and types to TypeScript', () => {
    const exported = checkedExports();
    expect(exported.values).toEqual([...VALUES].sort());
    expect(exported.types).toEqual([...TYPES].sort());
  }, 60_000);

  it('keeps the internals out: no store, context, codec or option resolver', () => {
    const names = [...VALUES, ...TYPES];
    for (const internal of [
      'SqlSessionStore',
      'SessionStore',
      'SessionMemoryContext',
      'ItemCodec',
      'resolveOptions',
      'OperationGate',
    ]) {
      expect(names).not.toContain(internal);
    }
  });
});
