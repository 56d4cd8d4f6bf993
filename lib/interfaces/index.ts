export * from './session-item.interface';
export * from './session-memory-options.interface';
