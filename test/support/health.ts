import { Controller, Get, Type } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import { SessionMemoryHealthIndicator } from '../../lib';

/** A `GET /health` controller for @nestjs/terminus that runs the checks `checks` makes from the indicator. */
export function healthController(
  checks: (sessions: SessionMemoryHealthIndicator) => HealthIndicatorFunction[],
): Type<unknown> {
  @Controller('health')
  class HealthController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly sessions: SessionMemoryHealthIndicator,
    ) {}

    @Get()
    @HealthCheck()
    check() {
      return this.health.check(checks(this.sessions));
    }
  }
  return HealthController;
}
