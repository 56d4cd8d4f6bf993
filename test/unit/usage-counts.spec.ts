import { RunContext, Usage } from '@openai/agents-core';
import { InvalidManagementOptionsError, InvalidOwnerError, InvalidSessionInputError } from '../../lib';
import { assertBranchOption, assertSearchTerm, assertTurn, usageQueryOf } from '../../lib/structure/structure-input';
import { countsOf, detailsJson, isEmpty, parseDetails } from '../../lib/structure/usage-counts';

describe('a run context usage, as recorded', () => {
  it('takes the cumulative counts and sums the per-request token details', () => {
    const context = new RunContext();
    context.usage.add(
      new Usage({
        requests: 1,
        inputTokens: 10,
        outputTokens: 5,
        totalTokens: 15,
        inputTokensDetails: { cached_tokens: 4 },
      }),
    );
    context.usage.add(
      new Usage({
        requests: 1,
        inputTokens: 20,
        outputTokens: 7,
        totalTokens: 27,
        inputTokensDetails: { cached_tokens: 6, audio_tokens: 0 },
        outputTokensDetails: { reasoning_tokens: 3 },
      }),
    );
    const counts = countsOf(context, 'test');
    expect(counts).toEqual({
      requests: 2,
      inputTokens: 30,
      outputTokens: 12,
      totalTokens: 42,
      inputTokensDetails: { cached_tokens: 10, audio_tokens: 0 },
      outputTokensDetails: { reasoning_tokens: 3 },
    });
    expect(JSON.parse(detailsJson(counts)!)).toEqual({
      input: { cached_tokens: 10, audio_tokens: 0 },
      output: { reasoning_tokens: 3 },
    });
    expect(parseDetails(detailsJson(counts))).toEqual({
      input: { cached_tokens: 10, audio_tokens: 0 },
      output: { reasoning_tokens: 3 },
    });
    expect(isEmpty(counts)).toBe(false);
  });

  it('counts nothing spent as empty, with no details', () => {
    const counts = countsOf(new RunContext(), 'test');
    expect(isEmpty(counts)).toBe(true);
    expect(detailsJson(counts)).toBeNull();
    expect(parseDetails(null)).toEqual({ input: {}, output: {} });
    expect(parseDetails('not json')).toEqual({ input: {}, output: {} });
  });

  it('ignores what is not a count, and never writes __proto__', () => {
    const counts = countsOf(
      {
        usage: {
          requests: -1,
          inputTokens: 'many',
          outputTokens: 2.7,
          totalTokens: Infinity,
          inputTokensDetails: JSON.parse('[{"__proto__": 5, "cached_tokens": "x", "constructor": 2}, null, 3]'),
        },
      },
      'test',
    );
    expect(counts).toMatchObject({ requests: 0, inputTokens: 0, outputTokens: 2, totalTokens: 0 });
    expect(Object.getPrototypeOf(counts.inputTokensDetails)).toBe(Object.prototype);
    expect(counts.inputTokensDetails).toEqual({ constructor: 2 });
  });

  it('refuses a context without usage', () => {
    for (const context of [undefined, null, {}, { usage: 3 }, 'ctx'])
      expect(() => countsOf(context, 'storeRunUsage(result)')).toThrow(InvalidSessionInputError);
  });
});

describe('turns and usage input', () => {
  it('accepts a branch option and refuses anything else', () => {
    expect(assertBranchOption(undefined, 'm')).toEqual({});
    expect(assertBranchOption({}, 'm')).toEqual({});
    expect(assertBranchOption({ branchId: 'branch-2' }, 'm')).toEqual({ branchId: 'branch-2' });
    for (const bad of [
      null,
      'main',
      [],
      { branchId: '' },
      { branchId: 2 },
      { branchId: 'x'.repeat(256) },
      { branchId: '\0' },
    ])
      expect(() => assertBranchOption(bad, 'm')).toThrow(InvalidSessionInputError);
  });

  it('takes search terms of 1 to 1000 characters and turns from 1', () => {
    expect(() => assertSearchTerm('x', 'm')).not.toThrow();
    expect(() => assertSearchTerm('x'.repeat(1000), 'm')).not.toThrow();
    for (const bad of ['', 'x'.repeat(1001), 1, null])
      expect(() => assertSearchTerm(bad, 'm')).toThrow(InvalidSessionInputError);
    expect(() => assertTurn(1, 'm')).not.toThrow();
    for (const bad of [0, -1, 1.5, NaN, '1', 2 ** 53])
      expect(() => assertTurn(bad, 'm')).toThrow(InvalidSessionInputError);
  });

  it('checks the getUsage query', () => {
    expect(usageQueryOf(undefined)).toEqual({});
    expect(usageQueryOf({ owner: 'alice', since: new Date(1000), until: new Date(2000) })).toEqual({
      owner: 'alice',
      sinceMs: 1000,
      untilMs: 2000,
    });
    for (const bad of [
      null,
      [],
      { since: new Date(NaN) },
      { until: 1 },
      { since: new Date(-1) },
      { since: new Date(2), until: new Date(1) },
    ])
      expect(() => usageQueryOf(bad)).toThrow(InvalidManagementOptionsError);
    expect(() => usageQueryOf({ owner: '' })).toThrow(InvalidOwnerError);
  });
});
