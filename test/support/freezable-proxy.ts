import { createConnection, createServer, Server, Socket } from 'net';

/**
 * A TCP proxy on 127.0.0.1 that can be frozen: while frozen it forwards nothing in either direction
 * and keeps every socket open, like a network partition or a frozen database host (no RST, no FIN).
 * Thawing delivers what was held back. Used to show that calls fail fast instead of hanging.
 */
export class FreezableProxy {
  private frozen = false;
  private readonly links = new Set<Link>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(targetPort: number, targetHost = '127.0.0.1'): Promise<FreezableProxy> {
    return new Promise((resolve, reject) => {
      let proxy: FreezableProxy;
      const server = createServer((client) => proxy.accept(client, targetHost, targetPort));
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        proxy = new FreezableProxy(server, (server.address() as { port: number }).port);
        resolve(proxy);
      });
    });
  }

  private accept(client: Socket, host: string, port: number): void {
    const link = new Link(
      client,
      () => createConnection({ host, port }),
      () => this.links.delete(link),
    );
    this.links.add(link);
    if (!this.frozen) link.open();
  }

  freeze(): void {
    this.frozen = true;
    for (const link of this.links) link.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
    for (const link of this.links) {
      link.frozen = false;
      link.open();
      link.flush();
    }
  }

  close(): Promise<void> {
    for (const link of this.links) link.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

class Link {
  frozen = false;
  private upstream: Socket | undefined;
  private readonly toUpstream: Buffer[] = [];
  private readonly toClient: Buffer[] = [];

  constructor(
    private readonly client: Socket,
    private readonly connect: () => Socket,
    private readonly onClose: () => void,
  ) {
    client.on('data', (d) => this.toUpstream.push(d) && this.flush());
    client.on('error', () => this.destroy());
    client.on('close', () => this.destroy());
  }

  open(): void {
    if (this.upstream) return;
    const upstream = this.connect();
    this.upstream = upstream;
    upstream.on('data', (d) => this.toClient.push(d) && this.flush());
    upstream.on('error', () => this.destroy());
    upstream.on('close', () => this.destroy());
  }

  flush(): void {
    if (this.frozen) return;
    if (this.upstream) for (const d of this.toUpstream.splice(0)) this.upstream.write(d);
    for (const d of this.toClient.splice(0)) this.client.write(d);
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
    this.onClose();
  }
}
