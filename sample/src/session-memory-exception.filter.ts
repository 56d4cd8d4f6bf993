import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { SessionMemoryError } from '../../lib';

/**
 * Turns the typed errors of nestjs-session-memory into HTTP answers by their `getStatus()`: bad input 400,
 * another caller's conversation 403, unknown conversation or branch 404, a refused history transaction
 * 409, database unreachable 503 (retry later), anything else 500.
 */
@Catch(SessionMemoryError)
export class SessionMemoryExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(SessionMemoryExceptionFilter.name);

  catch(error: SessionMemoryError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    // Every error of the package says which status it stands for (400, 403, 404, 409, 503, else 500).
    const status: number = error.getStatus();
    if (status >= 500) this.logger.error(error.message, error.stack);
    const body = { statusCode: status, code: error.code, message: error.message };
    // Express has json(); a Fastify reply (SAMPLE_PLATFORM=fastify) sends an object as JSON.
    if (typeof response.json === 'function') response.status(status).json(body);
    else (response as unknown as { status(s: number): { send(b: object): void } }).status(status).send(body);
  }
}
