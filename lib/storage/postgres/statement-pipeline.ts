/** One statement of a pipeline: a named statement and its parameter values (texts, or null). @internal */
export interface PipelineStep {
  /** The statement's name on the connection; the same text always has the same name. */
  readonly name: string;
  readonly text: string;
  readonly values: readonly (string | null)[];
}

/** The protocol messages of a `pg` connection that a pipeline sends (pg 8's `Connection`). */
interface WireConnection {
  stream: { cork?(): void; uncork?(): void };
  parse(message: { text: string; name: string }): void;
  bind(message: { statement: string; values: readonly (string | null)[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

/** The names each connection is known to hold (prepared by a pipeline that completed without error). */
const preparedOn = new WeakMap<object, Set<string>>();

/**
 * Several named statements in one round trip and one transaction: for each step a Bind and an Execute
 * (after a Parse the first time the connection meets the step), then a single Sync. This is the
 * extended query protocol's pipelining: PostgreSQL runs every message before the Sync in one implicit
 * transaction, statement after statement, and an error skips the rest and rolls the transaction back.
 * Each statement takes its snapshot when it runs (READ COMMITTED), so a statement after a lock sees what
 * the lock's previous holders committed. Unlike a script of inlined values (the simple protocol, parsed
 * and planned at every call), the statements are planned once per connection, as `pg`'s named queries.
 *
 * `pg` has no API for several statements before one Sync; this is a "submittable" (the interface
 * `pg-cursor` uses): `client.query(pipeline)` hands it the connection when it is the client's turn and
 * routes the server's answers to its `handle*` methods until ReadyForQuery. It resolves to the rows of
 * the last step, each an array of its columns as the server's texts (or null), unparsed.
 *
 * The names it prepares are its own (`pg` does not track them): a name counts as prepared on a
 * connection once a pipeline that parsed it completed. A connection whose pipeline failed is not used
 * again (`PostgresConnection.pipeline`, like `pool.query`, releases it with its error), so what a failed
 * pipeline prepared is never asked for.
 * @internal
 */
export class StatementPipeline {
  /** Set by `pg`'s `client.query`. */
  callback?: (err: Error | null, rows?: (string | null)[][]) => void;
  private readonly rows: (string | null)[][] = [];
  private completed = 0;
  private connection?: object;

  constructor(readonly steps: readonly PipelineStep[]) {}

  /** The statements' texts, one per line, as a script would show them (for logs and statement recorders). */
  get text(): string {
    return this.steps.map((step) => step.text).join(';\n');
  }

  /** Called by `pg` when the client is free: writes every message at once. */
  submit(connection: WireConnection): null {
    this.connection = connection;
    let prepared = preparedOn.get(connection);
    if (!prepared) preparedOn.set(connection, (prepared = new Set()));
    const last = this.steps.length - 1;
    connection.stream.cork?.();
    try {
      this.steps.forEach((step, i) => {
        if (!prepared.has(step.name)) connection.parse({ text: step.text, name: step.name });
        connection.bind({ statement: step.name, values: step.values });
        if (i === last) connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '' });
      });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(): void {}

  handleDataRow(message: { fields: (string | null)[] }): void {
    if (this.completed === this.steps.length - 1) this.rows.push(message.fields);
  }

  handleCommandComplete(): void {
    this.completed++;
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: WireConnection): void {
    connection.sendCopyFail('a statement pipeline does not copy');
  }

  handleCopyData(): void {}

  /** An error ends the pipeline at once (`pg` routes nothing more to it). */
  handleError(err: Error): void {
    this.callback?.(err);
  }

  handleReadyForQuery(): void {
    const prepared = this.connection && preparedOn.get(this.connection);
    for (const step of this.steps) prepared?.add(step.name);
    this.callback?.(null, this.rows);
  }
}
