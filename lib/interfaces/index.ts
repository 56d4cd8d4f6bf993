export * from './session-item.interface';
export * from './session-memory-options.interface';
export * from './conversation-management.interface';
export * from './maintenance.interface';
export * from './conversation-change.interface';
export * from './window-history.interface';
export * from './health.interface';
export * from './migration.interface';
