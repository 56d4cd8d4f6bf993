import { Client } from 'pg';
import type { DataSource } from 'typeorm';

/** One statement the module sent to the coordinator: its text and values (none for a script). */
export interface SentStatement {
  text: string;
  values: unknown[];
  /** Which query of the pool it was part of (a pipeline's statements share one): counts round trips. */
  trip?: number;
}

let trips = 0;

/** The recorders listening now; a connection, once wrapped, reports to whichever are. */
const sinks = new Set<(statement: SentStatement) => void>();

function wrapClient(client: any): void {
  if (client.__nsmRecorded) return;
  client.__nsmRecorded = true;
  const clientQuery = client.query;
  client.query = function (...args: unknown[]) {
    if (sinks.size > 0) {
      const trip = ++trips;
      const [first, second] = args as [string | { text: string; values?: unknown[]; steps?: SentStatement[] }, unknown];
      // A statement pipeline (several prepared statements in one round trip): each of its statements.
      const statements =
        typeof first === 'string'
          ? [{ text: first, values: Array.isArray(second) ? second : [] }]
          : (first.steps?.map(({ text, values }) => ({ text, values: [...values] })) ?? [
              { text: first.text, values: first.values ?? [] },
            ]);
      for (const sink of sinks) for (const statement of statements) sink({ ...statement, trip });
    }
    return clientQuery.apply(this, args);
  };
}

/**
 * Records every statement the module's `pg` pool sends (pooled queries, scripts, pipelines and transactions),
 * while they still go to the database as usual; `take()` returns and forgets them.
 */
export function recordStatements(ds: DataSource): { take(): SentStatement[]; stop(): void } {
  const pool = (ds.driver as any).master;
  let sent: SentStatement[] = [];
  const sink = (statement: SentStatement) => sent.push(statement);
  sinks.add(sink);
  // Every checkout, of a new or an idle connection, by pool.query or pool.connect.
  pool.on('acquire', wrapClient);
  return {
    take: () => {
      const out = sent;
      sent = [];
      return out;
    },
    stop: () => {
      sinks.delete(sink);
      pool.off('acquire', wrapClient);
    },
  };
}

/** How many round trips `statements` took (statements of one pipeline share one). */
export function roundTrips(statements: SentStatement[]): number {
  return new Set(statements.map((s) => s.trip)).size;
}

/** The statements of a script the module sent in one round trip (it joins them with `;\n`). */
export function splitScript(text: string): string[] {
  return text.split(';\n');
}

/** Where a conversation's rows are: its shard of `table` and the port of the worker holding it. */
export async function placementOf(
  client: Client,
  table: string,
  conversationId: string,
): Promise<{ shard: string; port: number }> {
  const { rows } = await client.query(
    `SELECT s.shardid::text AS shard, p.nodeport AS port FROM pg_dist_shard s JOIN pg_dist_placement pl USING (shardid) ` +
      `JOIN pg_dist_node p ON p.groupid = pl.groupid ` +
      `WHERE s.shardid = get_shard_id_for_distribution_column($1::regclass, $2::text)`,
    [table, conversationId],
  );
  if (rows.length !== 1) throw new Error(`expected one placement of ${conversationId} in ${table}, got ${rows.length}`);
  return rows[0];
}

/** The worker nodes of the cluster, as URLs with the coordinator's user and database. */
export async function workerUrls(client: Client, coordinatorUrl: string): Promise<{ port: number; url: string }[]> {
  const { rows } = await client.query(
    `SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND isactive AND shouldhaveshards AND groupid <> 0 ORDER BY nodeport`,
  );
  return rows.map((r: { nodename: string; nodeport: number }) => {
    const url = new URL(coordinatorUrl);
    url.hostname = r.nodename;
    url.port = String(r.nodeport);
    return { port: r.nodeport, url: url.toString() };
  });
}
