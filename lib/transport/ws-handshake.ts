import type { RequestLike } from './transport-request';

/**
 * Where a WebSocket client's connection request is found:
 * - socket.io (`@nestjs/platform-socket.io`): `client.handshake` (`headers`, `query` and `url` of the
 *   handshake), and `client.request` (the Node request, for the raw headers);
 * - ws (`@nestjs/platform-ws`): the `ws` package keeps no reference to the upgrade request, so the
 *   application puts it on the socket as `upgradeReq` when the client connects
 *   (`handleConnection(client, request) { client.upgradeReq = request; }`, docs/transports.md).
 */
export function handshakeOf(client: any): { source: RequestLike | undefined; noSource?: string } {
  const handshake = client?.handshake;
  if (typeof handshake === 'object' && handshake !== null && typeof handshake.headers === 'object') {
    return {
      source: {
        headers: handshake.headers,
        query: handshake.query ?? {},
        url: handshake.url,
        rawHeaders: client.request?.rawHeaders,
      },
    };
  }
  const upgrade = client?.upgradeReq;
  if (typeof upgrade === 'object' && upgrade !== null && typeof upgrade.headers === 'object') {
    return {
      source: {
        headers: upgrade.headers,
        query: queryOf(upgrade.url),
        url: upgrade.url,
        rawHeaders: upgrade.rawHeaders,
      },
    };
  }
  return {
    source: undefined,
    noSource:
      'this WebSocket client carries no handshake: with the ws adapter, keep the upgrade request on the socket when it ' +
      'connects (handleConnection(client, request) { client.upgradeReq = request; }, see docs/transports.md), ' +
      'or read the id in a conversationId resolver (it gets the socket and the message payload).',
  };
}

/** The query of a request target, a key sent twice as an array (as Express and Fastify parse it). */
function queryOf(url: unknown): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  if (typeof url !== 'string') return query;
  const at = url.indexOf('?');
  if (at < 0) return query;
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) {
    const had = query[key];
    query[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return query;
}
