export * from './session-memory.error';
export * from './invalid-session-input.error';
export * from './session-not-found.error';
export * from './session-storage.error';
export * from './session-memory-configuration.error';
export * from './history-transaction.error';
export * from './invalid-management-input.error';
export * from './conversation-access-denied.error';
