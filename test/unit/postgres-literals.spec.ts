import {
  inlinePostgresParameters,
  postgresLiteral,
  quotePostgresString,
} from '../../lib/storage/citus/postgres.literals';

describe('PostgreSQL literals for inlined statements (Citus scripts)', () => {
  it('quotes strings: quotes doubled, backslashes doubled in an E string only when there are any', () => {
    expect(quotePostgresString('plain')).toBe("'plain'");
    expect(quotePostgresString("it's")).toBe("'it''s'");
    expect(quotePostgresString('a\\b')).toBe("E'a\\\\b'");
    expect(quotePostgresString("\\'")).toBe("E'\\\\'''");
    expect(quotePostgresString('é \u{1F600} $1 ;\n')).toBe("'é \u{1F600} $1 ;\n'");
    expect(() => quotePostgresString('a\0b')).toThrow(/NUL/);
  });

  it('renders numbers, bigints, booleans, null and arrays; refuses what has no literal', () => {
    expect(postgresLiteral(42)).toBe('42');
    expect(postgresLiteral(-1.5)).toBe('(-1.5)');
    expect(postgresLiteral(12345678901234567890n)).toBe('12345678901234567890');
    expect(postgresLiteral(true)).toBe('TRUE');
    expect(postgresLiteral(null)).toBe('NULL');
    expect(postgresLiteral(['1', "x'y"])).toBe("ARRAY['1', 'x''y']");
    expect(postgresLiteral([])).toBe("'{}'");
    expect(() => postgresLiteral(Number.NaN)).toThrow(TypeError);
    expect(() => postgresLiteral({})).toThrow(TypeError);
  });

  it('replaces placeholders, not what looks like one inside quoted text or identifiers', () => {
    expect(
      inlinePostgresParameters(`SELECT $1, '$1', "$2x", $2::jsonb, $10`, ['a', '{}', 3, 4, 5, 6, 7, 8, 9, 10]),
    ).toBe(`SELECT 'a', '$1', "$2x", '{}'::jsonb, 10`);
    expect(inlinePostgresParameters(`VALUES ($1, $2)`, ['$2', 'x'])).toBe(`VALUES ('$2', 'x')`);
    expect(() => inlinePostgresParameters('SELECT $2', ['a'])).toThrow(/\$2 has no value/);
  });
});
