import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SessionMemoryConfigurationError, SessionMemoryError } from '../exceptions';
import type { SessionMemoryHealthCheckOptions, SessionMemoryHealthResult } from '../interfaces';
import { getSessionMemoryToken } from '../session-memory.constants';
import type { SessionMemoryService } from '../session-memory.service';

/**
 * The part of `@nestjs/terminus`'s `HealthIndicatorService` (terminus 10.2+/11) used here. Declared
 * locally so that this package's typings do not need `@nestjs/terminus` installed.
 */
interface TerminusHealthIndicatorService {
  check(key: string): {
    up(data?: Record<string, unknown>): Record<string, { status: 'up' } & Record<string, unknown>>;
    down(data?: Record<string, unknown>): Record<string, { status: 'down' } & Record<string, unknown>>;
  };
}

/**
 * A `@nestjs/terminus` health indicator for the session store: `up` when the database answers a
 * trivial query (`SessionMemoryService.ping()`), `down` (with the reason) when it does not, or not
 * within `timeoutMs`.
 *
 * `@nestjs/terminus` is an optional peer dependency: it is loaded only when this provider is
 * instantiated. Register it next to `TerminusModule`:
 *
 * ```ts
 * @Module({ imports: [TerminusModule, SessionMemoryModule.forRoot({ url })], controllers: [HealthController],
 *           providers: [SessionMemoryHealthIndicator] })
 * export class HealthModule {}
 *
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.sessions.isHealthy('sessions')]); }
 * ```
 */
@Injectable()
export class SessionMemoryHealthIndicator {
  private readonly HealthIndicatorService: new () => TerminusHealthIndicatorService;
  private indicators: TerminusHealthIndicatorService | undefined;

  constructor(private readonly moduleRef: ModuleRef) {
    let terminus: { HealthIndicatorService?: new () => TerminusHealthIndicatorService };
    try {
      terminus = require('@nestjs/terminus');
    } catch (err) {
      throw new SessionMemoryConfigurationError(
        'SessionMemoryHealthIndicator needs @nestjs/terminus: install it (npm install @nestjs/terminus) and import TerminusModule, or remove SessionMemoryHealthIndicator from your providers.',
        { cause: err },
      );
    }
    if (typeof terminus.HealthIndicatorService !== 'function') {
      throw new SessionMemoryConfigurationError(
        'SessionMemoryHealthIndicator needs @nestjs/terminus 10.2 or later (it uses HealthIndicatorService). Upgrade @nestjs/terminus.',
      );
    }
    this.HealthIndicatorService = terminus.HealthIndicatorService;
  }

  /**
   * Checks that the session store's database answers.
   * @param key the key of this indicator in the health check's result (e.g. `'sessions'`).
   */
  async isHealthy<const Key extends string>(
    key: Key,
    options: SessionMemoryHealthCheckOptions = {},
  ): Promise<SessionMemoryHealthResult<Key>> {
    const indicator = this.healthIndicators().check(key);
    const timeoutMs = options.timeoutMs ?? 1000;
    let service: SessionMemoryService;
    try {
      service = this.moduleRef.get<SessionMemoryService>(getSessionMemoryToken(options.instance) as string, {
        strict: false,
      });
    } catch {
      throw new SessionMemoryConfigurationError(
        `SessionMemoryHealthIndicator: no SessionMemoryModule instance${options.instance ? ` named "${options.instance}"` : ''} is registered. Import SessionMemoryModule.forRoot(${options.instance ? `{ name: '${options.instance}', ... }` : '...'}) in the application.`,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    // Aborted when this check stops waiting: the ping is then given up (not waited for at shutdown,
    // and its connection is not held for a late answer).
    const abandon = new AbortController();
    const ping = service.ping({ signal: abandon.signal });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandon.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([ping, timedOut]);
      return indicator.up({ dialect: service.dialect }) as SessionMemoryHealthResult<Key>;
    } catch (err) {
      ping.catch(() => undefined); // a late failure after the timeout is not an unhandled rejection
      return indicator.down({
        dialect: service.dialect,
        message: err instanceof Error ? err.message : String(err),
        ...(err instanceof SessionMemoryError ? { code: err.code } : {}),
      }) as SessionMemoryHealthResult<Key>;
    } finally {
      clearTimeout(timer);
    }
  }

  /** terminus's HealthIndicatorService: the application's own (from TerminusModule) when there is one. */
  private healthIndicators(): TerminusHealthIndicatorService {
    if (!this.indicators) {
      try {
        this.indicators = this.moduleRef.get(this.HealthIndicatorService, { strict: false });
      } catch {
        this.indicators = new this.HealthIndicatorService();
      }
    }
    return this.indicators!;
  }
}
