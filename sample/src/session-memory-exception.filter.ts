import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import {
  InvalidSessionInputError,
  SessionMemoryError,
  SessionNotFoundError,
  SessionStorageUnavailableError,
} from '../../lib';

/**
 * Turns the typed errors of nestjs-session-memory into HTTP answers: bad input 400, unknown conversation
 * 404, database unreachable 503 (retry later), anything else 500.
 */
@Catch(SessionMemoryError)
export class SessionMemoryExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(SessionMemoryExceptionFilter.name);

  catch(error: SessionMemoryError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    if (error instanceof InvalidSessionInputError) status = HttpStatus.BAD_REQUEST;
    else if (error instanceof SessionNotFoundError) status = HttpStatus.NOT_FOUND;
    else if (error instanceof SessionStorageUnavailableError) status = HttpStatus.SERVICE_UNAVAILABLE;
    if (status >= 500) this.logger.error(error.message, error.stack);
    const body = { statusCode: status, code: error.code, message: error.message };
    // Express has json(); a Fastify reply (SAMPLE_PLATFORM=fastify) sends an object as JSON.
    if (typeof response.json === 'function') response.status(status).json(body);
    else (response as unknown as { status(s: number): { send(b: object): void } }).status(status).send(body);
  }
}
