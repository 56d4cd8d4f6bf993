import { InvalidManagementOptionsError } from '../exceptions';

/**
 * One term of a parsed search query: its tokens (runs of letters and digits, lower-cased), a word
 * being a one-token phrase. A word written with punctuation inside (`e-mail`) is the phrase of its
 * tokens, as every engine's tokenizer splits it.
 * @internal
 */
export interface SearchTerm {
  tokens: string[];
  /** `"written in quotes"`: the tokens must follow each other. */
  phrase: boolean;
  /** `word*`: the last token is a prefix. */
  prefix: boolean;
  /** `-word`: items holding it are left out. */
  negated: boolean;
}

/** A query as every dialect renders it: at least one positive term. @internal */
export interface ParsedQuery {
  terms: SearchTerm[];
  /** The positive terms' tokens: what the snippet highlights. */
  highlight: { token: string; prefix: boolean }[];
}

/** Longest query text accepted (characters). */
export const MAX_QUERY_LENGTH = 1000;
/** Most terms in one query. */
export const MAX_TERMS = 32;
/** Longest token kept (characters); longer ones are cut (no engine indexes longer words whole). */
export const MAX_TOKEN_LENGTH = 64;

const TOKEN = /[\p{L}\p{N}]+/gu;

/** The tokens of a text, as the snippet and the parser see them. @internal */
export function tokensOf(text: string): string[] {
  return (text.normalize('NFC').match(TOKEN) ?? []).map((t) => t.toLowerCase().slice(0, MAX_TOKEN_LENGTH));
}

function refuse(why: string): never {
  throw new InvalidManagementOptionsError(`searchConversations query ${why}`);
}

/**
 * Parses the user's query: words (all must match), `"exact phrase"`, `-excluded` (a word or a quoted
 * phrase), `prefix*`. Everything else (parentheses, operators, SQL, unbalanced quotes) is text: it
 * only ever contributes tokens, which each dialect quotes into its own syntax, so no input can reach
 * an engine as an operator. Refuses (a typed error) an empty query, one without a word to find, one
 * with only excluded words, and oversized ones.
 * @throws InvalidManagementOptionsError
 * @internal
 */
export function parseSearchQuery(query: unknown): ParsedQuery {
  if (typeof query !== 'string') refuse(`must be a string, got ${query === null ? 'null' : typeof query}.`);
  if (query.length > MAX_QUERY_LENGTH) refuse(`is ${query.length} characters long; the most is ${MAX_QUERY_LENGTH}.`);
  if (!query.isWellFormed()) refuse('holds a lone surrogate (not valid Unicode text).');
  const terms: SearchTerm[] = [];
  // A term: optional '-', then a quoted phrase (closing quote optional) or a run of non-space characters.
  const pattern = /(-?)(?:"([^"]*)"?|([^\s"]+))/gu;
  for (const match of query.matchAll(pattern)) {
    const negated = match[1] === '-';
    const phrase = match[2] !== undefined;
    const raw = phrase ? match[2] : match[3];
    const tokens = tokensOf(raw);
    if (tokens.length === 0) continue; // punctuation only: nothing to find
    const prefix = !phrase && /[\p{L}\p{N}]\*+$/u.test(raw);
    terms.push({ tokens, phrase: phrase || tokens.length > 1, prefix, negated });
  }
  if (terms.length === 0) refuse('has no word to search for (letters or digits).');
  if (terms.length > MAX_TERMS) refuse(`has ${terms.length} terms; the most is ${MAX_TERMS}.`);
  if (terms.every((t) => t.negated)) refuse('has only excluded words (-word): add a word to find.');
  const highlight = terms
    .filter((t) => !t.negated)
    .flatMap((t) => t.tokens.map((token, i) => ({ token, prefix: t.prefix && i === t.tokens.length - 1 })));
  return { terms, highlight };
}
