export { createSessionMemoryMigration, createSessionMemoryUpgradeMigration } from './session-memory.migration';
export type { SessionMemoryMigrationClass, SessionMemoryMigrationOptions } from './session-memory.migration';
