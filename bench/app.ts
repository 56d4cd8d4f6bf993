import 'reflect-metadata';
import { LogLevel, Module } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SessionMemoryModule, SessionMemoryModuleOptions, SessionMemoryService } from '../lib';
import { SessionTables, dropSessionTables, ignoreDropError } from '../test/support/tables';

/**
 * Starts a Nest application context holding `SessionMemoryModule.forRoot(options)`, as an application
 * would (the benchmarks measure the module through its service, not through a testing module).
 */
export async function startApp(
  options: SessionMemoryModuleOptions,
  logger: LogLevel[] = ['error'],
): Promise<{ app: INestApplicationContext; memory: SessionMemoryService }> {
  @Module({ imports: [SessionMemoryModule.forRoot(options)] })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger });
  return { app, memory: app.get(SessionMemoryService) };
}

/** Drops the benchmark's tables (a failed DROP is ignored: the servers are shared) and closes the application. */
export async function stopApp(
  started: { app: INestApplicationContext; memory: SessionMemoryService },
  tables: SessionTables,
): Promise<void> {
  await dropSessionTables(started.memory.dataSource, tables, ignoreDropError);
  await started.app.close();
}
