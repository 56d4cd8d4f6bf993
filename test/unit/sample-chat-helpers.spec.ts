import { callerOf } from '../../sample/src/caller';
import { MAX_TITLE_LENGTH, titleFor } from '../../sample/src/conversation-title';
import { words } from '../../sample/src/local-model';

/** The sample chat page's pure helpers: conversation titles, the demo caller id, the local model's word deltas. */

describe('titleFor (a conversation title from its first message)', () => {
  it('keeps the first line, with spaces collapsed', () => {
    expect(titleFor('  Hello   there\nsecond line')).toBe('Hello there');
  });

  it('cuts long text to MAX_TITLE_LENGTH code points, never inside a surrogate pair', () => {
    const title = titleFor('😀'.repeat(200));
    expect(Array.from(title)).toHaveLength(MAX_TITLE_LENGTH);
    expect(title.endsWith('…')).toBe(true);
    expect(title.isWellFormed()).toBe(true);
  });

  it('replaces what metadata refuses: NUL and other control characters, lone surrogates', () => {
    expect(titleFor('a\u0000b\u0007c')).toBe('a b c');
    expect(titleFor('x\uD800y\uDC00')).toBe('x\uFFFDy\uFFFD');
    expect(titleFor('\u0001\u0002')).toBe('Untitled conversation');
  });
});

describe("callerOf (the sample's demo caller id)", () => {
  it('reads the x-caller-id header, else the caller query parameter, else "anonymous"', () => {
    expect(callerOf({ headers: { 'x-caller-id': 'ada' }, query: { caller: 'bob' } })).toBe('ada');
    expect(callerOf({ headers: {}, query: { caller: 'bob' } })).toBe('bob');
    expect(callerOf({ headers: {}, query: { caller: ['bob', 'eve'] } })).toBe('anonymous');
    expect(callerOf({ headers: { 'x-caller-id': ['a', 'b'] } })).toBe('anonymous');
    expect(callerOf({ headers: { 'x-caller-id': '' }, query: {} })).toBe('anonymous');
  });
});

describe('words (the local model streams one delta per word)', () => {
  it('cuts before each word that follows whitespace; the pieces join back exactly', () => {
    expect(words('You said "Hi there". Bye')).toEqual(['You ', 'said ', '"Hi ', 'there". ', 'Bye']);
    expect(words('  lead\n\nand  trail  ')).toEqual(['  ', 'lead\n\n', 'and  ', 'trail  ']);
    expect(words('')).toEqual([]);
    for (const text of ['a', ' a b ', 'x\ty\nz', '😀 😀']) expect(words(text).join('')).toBe(text);
  });
});
