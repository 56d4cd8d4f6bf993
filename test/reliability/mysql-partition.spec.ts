import { describeEachDialect } from '../support/databases';
import { startMemory } from '../support/memory';
import { FreezableProxy } from '../support/freezable-proxy';
import { user } from '../support/items';
import { settle, waitFor } from '../support/outcomes';

/**
 * A network partition between the module and MariaDB (a TCP proxy that stops forwarding: no answer,
 * no reset). Calls already on a pooled connection fail with SessionStorageUnavailableError after the
 * client-side query timeout (statementMs + max(connectMs, 1 s)) instead of waiting for the OS TCP
 * timeout; the timed-out connections are destroyed, and the same app works again once the network heals.
 */
describeEachDialect(
  'network partition',
  (_dialect, url) => {
    const target = new URL(url);

    it('calls in flight fail with SessionStorageUnavailableError instead of hanging; they work again once it heals', async () => {
      const proxy = await FreezableProxy.start(Number(target.port || 3306), target.hostname);
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      const cut = await startMemory(proxied.toString(), { timeouts: { statementMs: 500, connectMs: 500 } });
      try {
        const id = `partition-${Date.now()}`;
        const session = cut.memory.session(id);
        await session.addItems([user('before the partition')]);
        await Promise.all([1, 2, 3, 4].map(() => session.getItems())); // some idle pooled connections

        // Started, then the network goes silent before any answer: reads (one pooled query), writes
        // (a transaction), pop, ping; more calls than the pool has connections (new ones time out connecting).
        const calls = [
          settle(session.getItems()),
          settle(session.addItems([user('during the partition')])),
          settle(session.popItem()),
          settle(cut.memory.ping()),
          ...Array.from({ length: 12 }, () => settle(session.getItems(1))),
        ];
        proxy.freeze();
        const outcomes = await Promise.all(calls);
        expect(outcomes.map((o) => o.kind)).toEqual(Array(calls.length).fill('unavailable'));
        const codes = outcomes.map((o) =>
          o.kind === 'unavailable' ? (o.error.cause as { code?: string } | undefined)?.code : undefined,
        );
        expect(codes).toContain('PROTOCOL_SEQUENCE_TIMEOUT'); // the client-side query timeout, not only connection timeouts

        proxy.thaw();
        await waitFor(
          () => settle(cut.memory.ping()),
          (o) => o.kind === 'ok',
        );
        await session.addItems([user('after the partition')]);
        // Nothing of what was cut off was committed (its connection was closed before any COMMIT).
        expect(await session.getItems()).toEqual([user('before the partition'), user('after the partition')]);
      } finally {
        proxy.thaw();
        await cut.close().catch(() => undefined);
        await proxy.close();
      }
    }, 30_000);
  },
  ['mariadb'], // PostgreSQL: faults.spec.ts (private cluster); SQLite has no network
);
