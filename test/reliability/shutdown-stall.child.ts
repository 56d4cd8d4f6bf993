/**
 * Child process of shutdown-stall.spec.ts: one application shut down during a network stall, in a
 * process of its own so that an error reaching `uncaughtException` / `unhandledRejection` (which jest
 * may swallow or blame on another test) is seen. Reads its configuration as one JSON argument (the
 * tables exist already), starts
 * a FreezableProxy in front of the database and a SessionMemoryModule behind it, freezes the proxy
 * while health checks and (mode `operation`) a read are running, closes the application, waits past
 * the drivers' own timers, then resets the stalled sockets. Prints one JSON line (`RESULT {...}`) and
 * exits 0, or 1 when anything reached the process-level handlers.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { SessionMemoryHealthIndicator, SessionMemoryModule, SessionMemoryService } from '../../lib';
import { FreezableProxy } from '../support/freezable-proxy';

/** What the spec passes. */
export interface StallChildConfig {
  /** The real database URL; the child puts its proxy in front of it. */
  url: string;
  tables: { sessions: string; messages: string };
  timeouts: { statementMs: number; connectMs: number; lockMs?: number };
  /** `pings`: only health checks that time out. `operation`: also a read in flight when close() starts. */
  mode: 'pings' | 'operation';
  /** Health checks before the stall (each on a pooled connection of its own); 3 during it. */
  warmChecks: number;
  /** How long after the stall began to stay alive (past every driver timer of the calls it caught). */
  waitAfterFreezeMs: number;
}

/** What the child prints after `RESULT `. */
export interface StallChildResult {
  healthBefore: string[];
  healthDuring: string[];
  /** How the read in flight at close() ended (mode `operation`): `ok`, or the error's class and code. */
  operation?: string;
  closeMs: number;
  /** app.close() rejected with this (message and code). */
  closeError?: string;
  /** Errors that reached process-level handlers, in order, with the ms since close() started. */
  uncaught: { kind: string; atMs: number; message: string; code?: string }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as StallChildConfig;
  const uncaught: StallChildResult['uncaught'] = [];
  let closeStarted = Date.now();
  const record = (kind: string) => (err: unknown) => {
    const e = err as { message?: string; code?: string; stack?: string };
    uncaught.push({ kind, atMs: Date.now() - closeStarted, message: String(e?.message ?? err), code: e?.code });
    process.stderr.write(`${kind}: ${e?.stack ?? String(err)}\n`);
  };
  process.on('uncaughtException', record('uncaughtException'));
  process.on('unhandledRejection', record('unhandledRejection'));

  const target = new URL(config.url);
  const proxy = await FreezableProxy.start(Number(target.port), target.hostname);
  const proxied = new URL(config.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);

  @Module({
    imports: [
      TerminusModule.forRoot({ logger: false }),
      SessionMemoryModule.forRoot({
        url: proxied.toString(),
        tables: config.tables,
        timeouts: config.timeouts,
      }),
    ],
    providers: [SessionMemoryHealthIndicator],
  })
  class AppModule {}

  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const health = app.get(SessionMemoryHealthIndicator);
  const memory = app.get(SessionMemoryService);
  const check = async () => {
    const r = (await health.isHealthy('sessions', { timeoutMs: 200 })) as Record<string, { status: string }>;
    return r.sessions.status;
  };

  const session = memory.session(`stall-${process.pid}`);
  await session.addItems([{ role: 'user', content: 'before the stall' }]);
  const healthBefore = await Promise.all(Array.from({ length: config.warmChecks }, check)); // pooled connections

  proxy.freeze();
  const frozeAt = Date.now();
  const read =
    config.mode === 'operation'
      ? session.getItems().then(
          () => 'ok',
          (err: { constructor: { name: string }; code?: string }) => `${err.constructor.name} ${err.code ?? ''}`.trim(),
        )
      : undefined;
  const healthDuring = await Promise.all([check(), check(), check()]);

  closeStarted = Date.now();
  const closeError = await app.close().then(
    () => undefined,
    (err: Error & { code?: string }) => `${err.message} ${err.code ?? ''}`.trim(),
  );
  const closeMs = Date.now() - closeStarted;
  const operation = await read;

  // Past the client-side query timeout and the connect timeout of everything the stall caught.
  await sleep(Math.max(0, frozeAt + config.waitAfterFreezeMs - Date.now()));
  await proxy.close(); // the stall ends with a reset of every socket it held
  await sleep(300);

  const result: StallChildResult = { healthBefore, healthDuring, operation, closeMs, closeError, uncaught };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(uncaught.length > 0 ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`shutdown-stall.child failed: ${(err as Error).stack}\n`);
  process.exit(2);
});
