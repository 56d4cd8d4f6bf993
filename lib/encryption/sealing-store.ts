import type { ItemStore } from '../storage/branches/branch-line.store';
import type {
  AppendOptions,
  HistoryPlan,
  ItemRewrite,
  OwnerFilter,
  SkippedRows,
  StoredColumns,
  StoredRow,
} from '../storage/session-store';
import type { ItemCodec } from './item-codec';

/**
 * A stored row as the layers above the sealing layer see it: its id and its item's plaintext JSON
 * (`message_data`, named as the column), or `undefined` when it does not open (an envelope no
 * configured key opens, one that expired, or, in strict mode, a row that is not an envelope).
 * @internal
 */
export interface PlainRow {
  readonly id: number | string;
  readonly message_data: string | undefined;
}

/**
 * A whole read in plaintext, as columns in the same order: `texts[i]`, the plaintext of the row
 * `ids[i]`, is `undefined` when that row does not open (see `PlainRow`).
 * @internal
 */
export interface PlainColumns {
  readonly ids: readonly (number | string)[];
  readonly texts: readonly (string | undefined)[];
}

/**
 * A row read under the conversation's lock by a transaction that may delete it: also whether it must
 * be kept (`ItemCodec.mustKeep`: it does not open, and not only because it expired). Opened on first
 * use, so that rows a caller recognises by id are never decrypted.
 * @internal
 */
export interface LockedRow extends PlainRow {
  readonly mustKeep: boolean;
}

/** What `SealingStore.popNewest` did (see `PopOutcome`): the popped row's id and item, or `unopenable`. @internal */
export interface PlainPopOutcome<T> {
  id?: number | string;
  value?: T;
  skipped: SkippedRows;
  unopenable?: number;
  /** Nothing popped: another branch than main is current (see `PopOptions.ifMainIsCurrent`). */
  notOnMain?: boolean;
}

/** A history transaction in plaintext: `append` holds plaintext JSON, `replace.matches` sees plaintext rows. @internal */
export interface PlainHistoryPlan extends Omit<HistoryPlan, 'replace'> {
  replace?: { count: number; matches(newestFirst: readonly PlainRow[]): boolean };
}

/** Outcome of `SealingStore.applyHistory`: the removed rows in plaintext. @internal */
export type PlainHistoryOutcome =
  { status: 'applied'; removed: PlainRow[] } | { status: 'replayed' } | { status: 'conflict' } | { status: 'mismatch' };

/** A locked row, opened (once) when first asked. */
class OpeningRow implements LockedRow {
  /** `null`: not opened yet. */
  private opened: string | undefined | null = null;

  constructor(
    readonly id: number | string,
    readonly stored: string,
    private readonly conversationId: string,
    private readonly codec: ItemCodec,
  ) {}

  get message_data(): string | undefined {
    if (this.opened === null) this.opened = this.codec.open(this.conversationId, this.stored);
    return this.opened;
  }

  get mustKeep(): boolean {
    return this.message_data === undefined && this.codec.mustKeep(this.conversationId, this.stored);
  }
}

/**
 * The sealing layer: the store's item operations in plaintext. It seals what is written (the
 * `encryption` option's envelope, or the JSON text itself) and opens what is read, so that
 * `lib/history/` and `ConversationSession` never see a stored text. Rows that do not open come up
 * with `message_data` undefined; in a transaction that may delete rows, each also says whether it
 * must be kept (never deleted: a pop refuses, a compaction stores it again). Without encryption,
 * reads and appends pass the store's values through unchanged (no copy per row).
 * Operations without items (listing, owners, metadata reads, purge) stay on `SessionStore`.
 * @internal
 */
export class SealingStore {
  /** `{ mayKeep }` of every pop: under encryption a row may have to be kept, so decide before deleting. */
  private readonly popOptions: { mayKeep: boolean };

  constructor(
    /** The store underneath (stored texts): the main line's, or one branch's (`BranchStore.line`). */
    readonly store: ItemStore,
    /** How texts are sealed and opened. */
    readonly codec: ItemCodec,
  ) {
    this.popOptions = { mayKeep: codec.sealing };
  }

  /** Whether items are sealed (the `encryption` option). */
  get sealing(): boolean {
    return this.codec.sealing;
  }

  /** All rows of a conversation, oldest first, in plaintext, as columns (without encryption: the store's, unchanged). */
  readAll(conversationId: string, filter?: OwnerFilter): Promise<PlainColumns> {
    const columns = this.store.readAll(conversationId, filter);
    return this.codec.sealing ? columns.then((c) => this.openColumns(conversationId, c)) : columns;
  }

  /** The newest `limit` rows (older than `beforeId` when given), newest first, in plaintext. */
  readNewest(
    conversationId: string,
    limit: number,
    beforeId?: number | string,
    filter?: OwnerFilter,
  ): Promise<PlainRow[]> {
    const rows = this.store.readNewest(conversationId, limit, beforeId, filter);
    return this.codec.sealing ? rows.then((r) => this.openRows(conversationId, r)) : rows;
  }

  /** The plaintext of all rows, oldest first (undefined for a row that does not open). */
  readAllData(conversationId: string, filter?: OwnerFilter): Promise<(string | undefined)[]> {
    const texts = this.store.readAllData(conversationId, filter);
    return this.codec.sealing ? texts.then((t) => this.openTexts(conversationId, t)) : texts;
  }

  /** The plaintext of the newest `limit` rows, newest first (undefined for a row that does not open). */
  readNewestData(conversationId: string, limit: number, filter?: OwnerFilter): Promise<(string | undefined)[]> {
    const texts = this.store.readNewestData(conversationId, limit, filter);
    return this.codec.sealing ? texts.then((t) => this.openTexts(conversationId, t)) : texts;
  }

  /** Appends items (plaintext JSON), sealed; all or nothing. False: refused (see `SessionStore.append`). */
  append(conversationId: string, json: string[], options?: AppendOptions): Promise<boolean> {
    return this.store.append(
      conversationId,
      this.codec.sealing ? this.codec.seal(conversationId, json) : json,
      options,
    );
  }

  /** Replaces or removes the metadata and appends items (plaintext JSON, sealed) in one transaction. */
  writeMetadata(conversationId: string, metadata: string | null, json: string[]): Promise<void> {
    return this.store.writeMetadata(conversationId, metadata, this.codec.seal(conversationId, json));
  }

  /**
   * Deletes the newest row whose plaintext `parse` gives a value for (see `SessionStore.popNewest`),
   * with the rows above it that give none; refuses (`unopenable`), deleting nothing, when rows that
   * must be kept come first.
   */
  async popNewest<T>(
    conversationId: string,
    parse: (json: string) => T | undefined,
    options?: { ifMainIsCurrent?: boolean },
  ): Promise<PlainPopOutcome<T>> {
    const { codec } = this;
    const outcome = await this.store.popNewest(
      conversationId,
      (stored) => {
        const json = codec.sealing ? codec.open(conversationId, stored) : stored;
        const value = json === undefined ? undefined : parse(json);
        if (value !== undefined) return { value };
        return codec.mustKeep(conversationId, stored) ? 'keep' : 'skip';
      },
      options?.ifMainIsCurrent ? { ...this.popOptions, ifMainIsCurrent: true } : this.popOptions,
    );
    return {
      id: outcome.row?.id,
      value: outcome.value,
      skipped: outcome.skipped,
      unopenable: outcome.unopenable,
      notOnMain: outcome.notOnMain,
    };
  }

  /** Deletes every item and keeps the conversation (see `SessionStore.clearItems`). */
  clearItems(conversationId: string): Promise<void> {
    return this.store.clearItems(conversationId);
  }

  /**
   * Replaces every item with `json` (plaintext, sealed here) in one transaction; `keep`, given the
   * locked rows (oldest first), returns those of them to store again after the new items, unchanged.
   * Returns the plaintext of the kept rows that open.
   */
  async replaceItems(
    conversationId: string,
    json: string[],
    keep: (rows: LockedRow[]) => LockedRow[],
  ): Promise<{ kept: string[] }> {
    const { codec } = this;
    const outcome = await this.store.replaceItems(conversationId, codec.seal(conversationId, json), (rows) =>
      keep(this.openRows(conversationId, rows)).map((row) => (row as OpeningRow).stored),
    );
    const kept: string[] = [];
    for (const text of outcome.kept) {
      const opened = codec.open(conversationId, text);
      if (opened !== undefined) kept.push(opened);
    }
    return { kept };
  }

  /**
   * Reads every row (in plaintext) under the conversation's lock, lets `rewrite` decide which to
   * change (new plaintext, sealed here) and delete, and applies that in the same transaction.
   * Returns whether anything changed.
   */
  async rewriteItems(conversationId: string, rewrite: (rows: PlainRow[]) => ItemRewrite | undefined): Promise<boolean> {
    const { codec } = this;
    const change = await this.store.rewriteItems(conversationId, (rows) => {
      const plan = rewrite(codec.sealing ? this.openRows(conversationId, rows) : rows);
      if (!plan || !codec.sealing) return plan;
      return {
        ...plan,
        updates: plan.updates.map((u) => ({ id: u.id, data: codec.seal(conversationId, [u.data])[0] })),
      };
    });
    return change !== undefined;
  }

  /** Applies a history transaction (plaintext in, plaintext out; see `SessionStore.applyHistory`). */
  async applyHistory(conversationId: string, plan: PlainHistoryPlan): Promise<PlainHistoryOutcome> {
    const { codec } = this;
    if (!codec.sealing) return this.store.applyHistory(conversationId, plan);
    const { replace } = plan;
    const outcome = await this.store.applyHistory(conversationId, {
      ...plan,
      append: codec.seal(conversationId, plan.append),
      replace: replace && {
        count: replace.count,
        matches: (newestFirst) => replace.matches(this.openRows(conversationId, newestFirst)),
      },
    });
    return outcome.status === 'applied'
      ? { status: 'applied', removed: this.openRows(conversationId, outcome.removed) }
      : outcome;
  }

  /** Rows opened on first use: a caller that needs only ids (the change hub's checks) decrypts nothing. */
  private openRows(conversationId: string, rows: StoredRow[]): LockedRow[] {
    return rows.map((row) => new OpeningRow(row.id, row.message_data, conversationId, this.codec));
  }

  private openColumns(conversationId: string, columns: StoredColumns): PlainColumns {
    return { ids: columns.ids, texts: this.openTexts(conversationId, columns.texts) };
  }

  private openTexts(conversationId: string, texts: string[]): (string | undefined)[] {
    return texts.map((text) => this.codec.open(conversationId, text));
  }
}
