import { INestApplication, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AddressInfo } from 'net';
import { SessionMemoryModule, SessionMemoryModuleOptions, SessionMemoryService } from '../../../lib';
import { TestDialect } from '../../support/databases';
import { urlFor } from '../../support/memory';
import { SessionTables, dropSessionTables, ignoreDropError, uniqueTables } from '../../support/tables';

/** A transport test's application, listening on a real port of 127.0.0.1. */
export interface TransportApp {
  app: INestApplication;
  memory: SessionMemoryService;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

export interface TransportAppOptions {
  dialect: TestDialect;
  url: string;
  platform?: 'express' | 'fastify';
  /** Module options beside `url`, `createTables` and `tables`. */
  memory?: Partial<SessionMemoryModuleOptions>;
  /** More imports (a GraphQL module, ...). */
  imports?: any[];
  controllers?: Type<unknown>[];
  providers?: any[];
  /** Called on the application before it listens (an adapter, a WebSocket adapter). */
  configure?: (app: INestApplication) => void;
}

/**
 * Starts a Nest application with SessionMemoryModule on the dialect (SQLite: a fresh file; a server:
 * tables of its own, dropped by `close`), over Express or Fastify, listening on a free port.
 */
export async function startTransportApp(options: TransportAppOptions): Promise<TransportApp> {
  const tables: SessionTables = uniqueTables('tr');
  const url = urlFor(options.dialect, options.url);
  const imports = [
    SessionMemoryModule.forRoot({ ...options.memory, url, createTables: true, tables }),
    ...(options.imports ?? []),
  ];
  class TransportTestModule {}
  Module({ imports, controllers: options.controllers ?? [], providers: options.providers ?? [] })(TransportTestModule);
  const app =
    options.platform === 'fastify'
      ? await NestFactory.create(TransportTestModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(TransportTestModule, { logger: false });
  options.configure?.(app);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const memory = app.get(SessionMemoryService);
  return {
    app,
    memory,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      const ds = memory.dataSource;
      if (options.dialect !== 'sqlite' && ds.isInitialized) await dropSessionTables(ds, tables, ignoreDropError);
      await app.close();
    },
  };
}

/** Resolves when `predicate` holds, polling every 10 ms; rejects after `ms` with `what`. */
export async function eventually(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
