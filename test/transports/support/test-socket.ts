import { Socket, io } from 'socket.io-client';
import WebSocket from 'ws';
import { eventually } from './transport-app';

/** One event a test socket received. */
export interface Received {
  event: string;
  data: any;
}

/** A real client of either adapter, recording every event it receives. */
export interface TestSocket {
  readonly received: Received[];
  send(event: string, data?: unknown): void;
  /** The first received `event` whose data matches `where` (waits for it). */
  next(event: string, where?: (data: any) => boolean, ms?: number): Promise<any>;
  /** Every received `event`. */
  all(event: string): any[];
  close(): void;
}

export type Adapter = 'socket.io' | 'ws';

/** Connects to the gateway at `path` with these handshake headers and query, and waits until the connection is open. */
export async function connect(
  adapter: Adapter,
  baseUrl: string,
  path: string,
  handshake: { headers?: Record<string, string>; query?: Record<string, string> } = {},
): Promise<TestSocket> {
  const received: Received[] = [];
  const base = {
    received,
    async next(event: string, where: (data: any) => boolean = () => true, ms = 5000) {
      let found: Received | undefined;
      await eventually(
        () => (found = received.find((r) => r.event === event && where(r.data))) !== undefined,
        `event ${event}`,
        ms,
      );
      return found!.data;
    },
    all: (event: string) => received.filter((r) => r.event === event).map((r) => r.data),
  };
  if (adapter === 'socket.io') {
    const socket: Socket = io(baseUrl, {
      path,
      transports: ['websocket'],
      extraHeaders: handshake.headers,
      query: handshake.query,
      forceNew: true,
      reconnection: false,
    });
    socket.onAny((event, data) => received.push({ event, data }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return { ...base, send: (event, data) => socket.emit(event, data), close: () => socket.close() };
  }
  const query = new URLSearchParams(handshake.query ?? {}).toString();
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}${query ? `?${query}` : ''}`, {
    headers: handshake.headers,
  });
  socket.on('message', (raw) => {
    const { event, data } = JSON.parse(raw.toString());
    received.push({ event, data });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { ...base, send: (event, data) => socket.send(JSON.stringify({ event, data })), close: () => socket.close() };
}
