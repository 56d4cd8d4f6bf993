import type { SessionMetadata } from '../../lib';

/** Longest conversation title kept in metadata, in characters (code points). */
export const MAX_TITLE_LENGTH = 80;

/** The `title` of a conversation's metadata, or null. */
export function titleOf(metadata: SessionMetadata | undefined): string | null {
  return typeof metadata?.title === 'string' ? metadata.title : null;
}

/**
 * A title from a first message: its first line, spaces collapsed, at most MAX_TITLE_LENGTH code points
 * (never a half surrogate pair), control characters and lone surrogates replaced (metadata refuses
 * them); `Untitled conversation` when nothing is left.
 */
export function titleFor(text: string): string {
  const line = text
    .trim()
    .split('\n')[0]
    // eslint-disable-next-line no-control-regex -- control characters are what this replaces
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/\s+/g, ' ')
    .trim();
  if (line === '') return 'Untitled conversation';
  const points = Array.from(line);
  return points.length <= MAX_TITLE_LENGTH ? line : `${points.slice(0, MAX_TITLE_LENGTH - 1).join('')}…`;
}
