import { canonicalJson } from '../../lib/history/history-transaction';

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives structurally equal values the same text, and different ones different texts', () => {
    expect(canonicalJson({ role: 'user', content: 'x' })).toBe(canonicalJson({ content: 'x', role: 'user' }));
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
  });

  it('drops what JSON drops (undefined properties)', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });
});

describe('canonicalJson and own __proto__ keys', () => {
  it('keeps an own __proto__ key in the text (it is data, not a prototype)', () => {
    const withProto = JSON.parse('{"role":"user","content":"x","__proto__":{"admin":true}}');
    expect(canonicalJson(withProto)).toBe('{"__proto__":{"admin":true},"content":"x","role":"user"}');
  });

  it('gives values that differ only under __proto__ different texts', () => {
    const a = JSON.parse('{"content":"x","__proto__":{"v":1}}');
    const b = JSON.parse('{"content":"x","__proto__":{"v":2}}');
    const c = JSON.parse('{"content":"x"}');
    expect(canonicalJson(a)).not.toBe(canonicalJson(b));
    expect(canonicalJson(a)).not.toBe(canonicalJson(c));
    expect(canonicalJson([{ nested: a }])).not.toBe(canonicalJson([{ nested: b }]));
  });

  it('keeps the text of values without __proto__ as before (stored operation hashes stay valid)', () => {
    // JavaScript orders integer-like keys first: the canonical text always did the same.
    expect(canonicalJson({ b: 1, 10: 2, 9: 3, a: [{ y: 1, x: 2 }] })).toBe('{"9":3,"10":2,"a":[{"x":2,"y":1}],"b":1}');
  });
});
