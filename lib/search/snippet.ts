import type { SearchHighlight } from '../interfaces/search.interface';
import { MAX_TOKEN_LENGTH, ParsedQuery } from './search-query';

/** Characters of context kept before the first match and in a whole snippet. */
const BEFORE = 60;
const LENGTH = 240;

/**
 * The snippet of a hit: about `LENGTH` characters of `body` around its first matched word, with every
 * matched word in it highlighted (offsets into the snippet). Computed here, the same way for every
 * dialect (a word matches a query token exactly, or by prefix for `prefix*`, case-insensitively). A
 * stemmed match (PostgreSQL with `language: 'english'`) may show without a highlight.
 * @internal
 */
export function snippetOf(body: string, query: ParsedQuery): { snippet: string; highlights: SearchHighlight[] } {
  const words = [...body.matchAll(/[\p{L}\p{N}]+/gu)];
  const matches = (word: string) => {
    const token = word.normalize('NFC').toLowerCase().slice(0, MAX_TOKEN_LENGTH);
    return query.highlight.some((h) => (h.prefix ? token.startsWith(h.token) : token === h.token));
  };
  const first = words.find((w) => matches(w[0]));
  let start = first ? Math.max(0, (first.index ?? 0) - BEFORE) : 0;
  // Start at a word boundary, and never inside a surrogate pair.
  if (start > 0) {
    const space = body.lastIndexOf(' ', start);
    start = space >= 0 && start - space < 20 ? space + 1 : start;
    if (/[\uDC00-\uDFFF]/.test(body[start] ?? '')) start++;
  }
  let end = Math.min(body.length, start + LENGTH);
  if (/[\uDC00-\uDFFF]/.test(body[end] ?? '')) end++;
  const highlights: SearchHighlight[] = [];
  for (const w of words) {
    const at = w.index ?? 0;
    if (at < start || at + w[0].length > end || !matches(w[0])) continue;
    const prefix = start > 0 ? 1 : 0;
    highlights.push({ start: at - start + prefix, end: at - start + prefix + w[0].length });
  }
  const snippet = (start > 0 ? '…' : '') + body.slice(start, end) + (end < body.length ? '…' : '');
  return { snippet, highlights };
}
