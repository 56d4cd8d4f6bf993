import { InvalidSessionItemsError, InvalidSessionMetadataError } from '../exceptions';
import { encodeItems, isJsonObject, parseJsonObject } from '../validation';

/** Per-conversation metadata: a JSON object (who owns the conversation, a title, tags...). */
export type SessionMetadata = Record<string, unknown>;

/** Largest metadata JSON text, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 64 * 1024;
const MAX_METADATA_DEPTH = 32;
const FILTER_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks that `metadata` is a plain JSON object within the size limit and returns its JSON text.
 * @throws InvalidSessionMetadataError otherwise.
 */
export function encodeMetadata(metadata: unknown): string {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new InvalidSessionMetadataError(
      `Conversation metadata must be a plain JSON object (e.g. { userId: 'u1' }), got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : typeof metadata}.`,
    );
  }
  try {
    return encodeItems([metadata], {
      maxItemBytes: MAX_METADATA_BYTES,
      maxBatchBytes: MAX_METADATA_BYTES,
      maxItemsPerCall: 1,
      maxDepth: MAX_METADATA_DEPTH,
    })[0];
  } catch (err) {
    if (err instanceof InvalidSessionItemsError) {
      throw new InvalidSessionMetadataError(
        err.message
          .replace(/^items\[0\]/, 'metadata')
          .replace('(limits.maxItemBytes)', `(metadata is limited to ${MAX_METADATA_BYTES} bytes)`),
      );
    }
    throw err;
  }
}

/** Parses stored metadata (a JSON text, or an object when the driver already parsed a `jsonb` column). */
export function decodeMetadata(stored: unknown): SessionMetadata | undefined {
  if (stored === null || stored === undefined) return undefined;
  if (typeof stored === 'object') return isJsonObject(stored) ? stored : undefined;
  return parseJsonObject(String(stored));
}

/** One `listSessions({ metadata })` condition: top-level `key` equals the JSON value `json`. */
export interface MetadataCondition {
  key: string;
  json: string;
}

/**
 * Turns a metadata filter into conditions (equality of top-level keys, compared as JSON values).
 * @throws InvalidSessionMetadataError for a key outside `[A-Za-z0-9_-]{1,64}` or a value JSON cannot hold.
 */
export function metadataConditions(filter: unknown): MetadataCondition[] {
  if (filter === undefined) return [];
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new InvalidSessionMetadataError(
      'listSessions({ metadata }) must be an object of top-level keys and the values they must equal.',
    );
  }
  const conditions: MetadataCondition[] = [];
  for (const [key, value] of Object.entries(filter as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (!FILTER_KEY.test(key)) {
      throw new InvalidSessionMetadataError(
        `Metadata filter key ${JSON.stringify(key)} is not supported: filter keys must be 1-64 letters, digits, _ or -. Rename the metadata key to filter on it.`,
      );
    }
    const json = encodeMetadata({ v: value });
    conditions.push({ key, json: json.slice('{"v":'.length, -1) });
  }
  return conditions;
}
