export * from './conversation-id';
export * from './limit';
export * from './items';
export * from './identifiers';
export * from './json-object';
export * from './row-id';
