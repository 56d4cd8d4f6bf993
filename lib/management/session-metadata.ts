import { InvalidSessionItemsError, InvalidSessionMetadataError } from '../exceptions';
import { withoutPrefix } from '../exceptions/message-prefix';
import type { SessionMetadata } from '../interfaces';
import { encodeItems, isJsonObject, parseJsonObject } from '../validation';

export type { SessionMetadata } from '../interfaces';

/** Largest metadata JSON text, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 64 * 1024;
const MAX_METADATA_DEPTH = 32;
const FILTER_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks that `metadata` is a plain JSON object within the size limit, whose every string (key or
 * value, at any depth) every dialect can store, and returns its JSON text.
 * @throws InvalidSessionMetadataError otherwise, before any I/O.
 */
export function encodeMetadata(metadata: unknown): string {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new InvalidSessionMetadataError(
      `Conversation metadata must be a plain JSON object (e.g. { userId: 'u1' }), got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : typeof metadata}.`,
    );
  }
  let json: string;
  try {
    json = encodeItems([metadata], {
      maxItemBytes: MAX_METADATA_BYTES,
      maxBatchBytes: MAX_METADATA_BYTES,
      maxItemsPerCall: 1,
      maxDepth: MAX_METADATA_DEPTH,
    })[0];
  } catch (err) {
    if (err instanceof InvalidSessionItemsError) {
      throw new InvalidSessionMetadataError(
        withoutPrefix(err.message)
          .replace(/^items\[0\]/, 'metadata')
          .replace('(limits.maxItemBytes)', `(metadata is limited to ${MAX_METADATA_BYTES} bytes)`),
      );
    }
    throw err;
  }
  const bad = unstorableText(JSON.parse(json), 'metadata');
  if (bad) {
    throw new InvalidSessionMetadataError(
      `${bad}. Metadata is stored as JSON (PostgreSQL jsonb), which holds neither; the same rule applies on every dialect. Remove or replace that character (keep binary data base64-encoded).`,
    );
  }
  return json;
}

/**
 * The first string of `value` (a parsed JSON value: object keys and values, at any depth) holding a
 * NUL (U+0000) or a lone UTF-16 surrogate, which PostgreSQL's `jsonb` refuses, described with its
 * path (`metadata.tags[1]`, `metadata["odd key"]`); `undefined` when there is none. The path quotes
 * keys through JSON, so it never carries a raw control character into a log.
 */
function unstorableText(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return textProblem(value, path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorableText(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const child = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      const found =
        textProblem(key, `the key ${child}`) ?? unstorableText((value as Record<string, unknown>)[key], child);
      if (found) return found;
    }
  }
  return undefined;
}

function textProblem(text: string, where: string): string | undefined {
  if (text.includes('\u0000')) return `${where} contains a NUL character (U+0000)`;
  if (!text.isWellFormed())
    return `${where} contains a lone UTF-16 surrogate (half of an emoji or other astral character)`;
  return undefined;
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
 * @throws InvalidSessionMetadataError for a key outside `[A-Za-z0-9_-]{1,64}`, or a value JSON cannot hold or that
 *   holds a string metadata cannot (NUL, a lone surrogate: see `encodeMetadata`).
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
    let json: string;
    try {
      json = encodeMetadata({ [key]: value });
    } catch (err) {
      if (!(err instanceof InvalidSessionMetadataError)) throw err;
      throw new InvalidSessionMetadataError(`listSessions({ metadata }) filter: ${withoutPrefix(err.message)}`);
    }
    // `{"<key>":<value>}`: the key is plain ASCII, so its JSON text is its length plus quotes.
    conditions.push({ key, json: json.slice(key.length + 4, -1) });
  }
  return conditions;
}
