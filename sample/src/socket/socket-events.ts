import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { SessionMemoryError } from '../../../lib';

/** A browser WebSocket's view of the `ws` package's socket: what the gateway uses. */
export interface ChatSocket {
  readonly readyState: number;
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

/** Sends one event as `{ event, data }` JSON, the format WsAdapter reads and writes; nothing once the socket is closing. */
export function push(client: ChatSocket, event: string, data: unknown): void {
  if (client.readyState === 1) client.send(JSON.stringify({ event, data }));
}

/**
 * Answers what a gateway handler throws with an `error` event (`{ status, message }`): the 401, 403,
 * 429 of the HTTP API, the package's typed errors by their `getStatus()`, anything else as a 500 that
 * says nothing of the server. Nest's own WebSocket filter would send nothing over plain WebSockets.
 */
@Catch()
export class SocketErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ChatGateway');

  catch(error: unknown, host: ArgumentsHost): void {
    const status = error instanceof HttpException || error instanceof SessionMemoryError ? error.getStatus() : 500;
    if (status >= 500) this.logger.error((error as Error)?.message, (error as Error)?.stack);
    const message = status < 500 ? (error as Error).message : 'The server could not do this. Try again.';
    const data = host.switchToWs().getData() as { conversationId?: unknown } | undefined;
    push(host.switchToWs().getClient<ChatSocket>(), 'error', { status, message, conversationId: data?.conversationId });
  }
}
