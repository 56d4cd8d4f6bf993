export * from './session-memory.error';
export * from './invalid-input.errors';
export * from './session-not-found.error';
export * from './session-storage.errors';
export * from './session-memory-configuration.error';
export * from './history-transaction-rejected.errors';
export * from './conversation-access-denied.error';
export * from './unreadable-items.error';
