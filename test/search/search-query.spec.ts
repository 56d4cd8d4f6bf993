import { InvalidManagementOptionsError } from '../../lib';
import { parseSearchQuery } from '../../lib/search/search-query';
import { snippetOf } from '../../lib/search/snippet';
import { entryTextOf, indexedTextOf } from '../../lib/search/item-text';

describe('search query parsing (pure)', () => {
  it('parses words, phrases, exclusions and prefixes into plain tokens', () => {
    expect(parseSearchQuery('Invoice "March  2026" -draft refund* e-mail').terms).toEqual([
      { tokens: ['invoice'], phrase: false, prefix: false, negated: false },
      { tokens: ['march', '2026'], phrase: true, prefix: false, negated: false },
      { tokens: ['draft'], phrase: false, prefix: false, negated: true },
      { tokens: ['refund'], phrase: false, prefix: true, negated: false },
      { tokens: ['e', 'mail'], phrase: true, prefix: false, negated: false },
    ]);
    // Operators of the engines are words or nothing: no token ever holds anything but letters and digits.
    for (const q of [`NEAR(a b) AND c:* OR "d`, `'; DROP TABLE x; --`, `a <-> !b & (c | d)`, `{body}: ^x +y ~z`]) {
      for (const term of parseSearchQuery(q).terms) for (const t of term.tokens) expect(t).toMatch(/^[\p{L}\p{N}]+$/u);
    }
  });

  it('refuses queries with nothing to find', () => {
    for (const q of ['', ' ', '"', '-x', '-"a b" -c', '()', 'x'.repeat(1001), Array(33).fill('w').join(' ')])
      expect(() => parseSearchQuery(q)).toThrow(InvalidManagementOptionsError);
  });

  it('highlights matched words in a snippet around the first match', () => {
    const body = `${'filler '.repeat(40)}the Invoice was paid, invoices archived`;
    const { snippet, highlights } = snippetOf(body, parseSearchQuery('invoice*'));
    expect(snippet.startsWith('…')).toBe(true);
    expect(highlights.map((h) => snippet.slice(h.start, h.end))).toEqual(['Invoice', 'invoices']);
  });

  it('indexes user and assistant text; tool items only when included; never envelopes or corrupt rows', () => {
    const messages = new Set(['messages'] as const);
    const all = new Set(['messages', 'tool_calls', 'tool_outputs'] as const);
    expect(indexedTextOf('{"role":"user","content":"hi there"}', messages)).toEqual({ role: 'user', body: 'hi there' });
    expect(
      indexedTextOf(
        '{"role":"assistant","content":[{"type":"output_text","text":"a"},{"type":"output_text","text":"b"}]}',
        messages,
      ),
    ).toEqual({ role: 'assistant', body: 'a\nb' });
    expect(indexedTextOf('{"role":"system","content":"x"}', all)).toBeUndefined();
    expect(indexedTextOf('{"type":"function_call","name":"f","arguments":"{}"}', messages)).toBeUndefined();
    expect(indexedTextOf('{"type":"function_call","name":"f","arguments":"{\\"q\\":1}"}', all)).toEqual({
      role: 'tool_call',
      body: 'f\n{"q":1}',
    });
    expect(indexedTextOf('{"type":"function_call_result","output":{"type":"text","text":"out"}}', all)).toEqual({
      role: 'tool_output',
      body: 'out',
    });
    expect(indexedTextOf('{"__enc__":1,"v":1,"kid":"hkdf-v1","payload":"gAAA"}', all)).toBeUndefined();
    expect(indexedTextOf('not json', all)).toBeUndefined();
  });

  it('gives every user message the role user in its entry (what turns are counted from), text or not', () => {
    const messages = new Set(['messages'] as const);
    const toolsOnly = new Set(['tool_calls'] as const);
    const image = '{"role":"user","content":[{"type":"input_image","image":"x.png"}]}';
    expect(entryTextOf(image, messages)).toEqual({ role: 'user', body: '' });
    expect(entryTextOf('{"role":"user","content":"hi"}', toolsOnly)).toEqual({ role: 'user', body: '' });
    expect(entryTextOf('{"type":"message","role":"user","content":"hi"}', messages)).toEqual({
      role: 'user',
      body: 'hi',
    });
    // Not a user message (as isUserMessage): another type, a system message, an envelope, a corrupt row.
    expect(entryTextOf('{"type":"function_call_result","role":"user","output":"x"}', messages).role).toBe('');
    expect(entryTextOf('{"role":"system","content":"x"}', messages)).toEqual({ role: '', body: '' });
    expect(entryTextOf('{"__enc__":1,"v":1,"kid":"hkdf-v1","payload":"gAAA"}', messages)).toEqual({
      role: '',
      body: '',
    });
    expect(entryTextOf('not json', messages)).toEqual({ role: '', body: '' });
  });
});
