import type { ModuleRef } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';

/**
 * The token under which `@nestjs/typeorm` registers the DataSource named `name` (`'default'` for the
 * unnamed one). `@nestjs/typeorm` is an optional peer: it is loaded only when a DataSource is reused by name.
 * @internal
 */
export function typeOrmDataSourceToken(name: string): unknown {
  let typeorm: { getDataSourceToken(name?: string): unknown };
  try {
    typeorm = require('@nestjs/typeorm');
  } catch (err) {
    throw new SessionMemoryConfigurationError(
      `dataSource '${name}' names a DataSource of @nestjs/typeorm, which is not installed. ` +
        'Install it (npm install @nestjs/typeorm) and import TypeOrmModule.forRoot, or pass the DataSource instance as `dataSource`.',
      { cause: err },
    );
  }
  return typeorm.getDataSourceToken(name === 'default' ? undefined : name);
}

/**
 * The application's DataSource registered under `name`: the one Nest injected (`forRoot({ dataSource: name })`
 * and `forRootAsync({ dataSource: name })` inject it, so that TypeOrmModule has connected it first), or,
 * for a name only the options factory returned, the one registered now, if it is ready.
 * @throws SessionMemoryConfigurationError naming the fix when there is none.
 * @internal
 */
export function findReusedDataSource(moduleRef: ModuleRef, name: string, injected: DataSource | undefined): DataSource {
  if (injected) return injected;
  const token = typeOrmDataSourceToken(name);
  let found: DataSource | undefined;
  try {
    found = moduleRef.get<DataSource>(token as string, { strict: false }) ?? undefined;
  } catch {
    throw new SessionMemoryConfigurationError(
      `no TypeORM DataSource named "${name}" is registered. Import TypeOrmModule.forRoot({ name: '${name}', ... }) ` +
        `in the application (no name for 'default'), or pass the DataSource instance as \`dataSource\`.`,
    );
  }
  if (!found) {
    throw new SessionMemoryConfigurationError(
      `the TypeORM DataSource "${name}" is registered but not built yet when the session-memory options named it. ` +
        `Name it beside the factory, so that Nest injects it: SessionMemoryModule.forRootAsync({ dataSource: '${name}', useFactory, inject }).`,
    );
  }
  return found;
}
