import { InvalidManagementOptionsError } from '../../lib';
import { toMilliseconds } from '../../lib/management/duration';

describe('toMilliseconds (Duration parsing)', () => {
  it.each([
    [1500, 1500],
    [0.4, 1],
    ['500ms', 500],
    ['45s', 45_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['  2d ', 172_800_000],
    ['1w', 604_800_000],
    ['1.5s', 1500],
  ])('%p is %p ms', (input, expected) => {
    expect(toMilliseconds(input, 'idleFor')).toBe(expected);
  });

  it.each([0, -1, NaN, Infinity, 1e16, '', '30', 'd', '30x', '1h30', 'h1', '30 days', null, undefined, {}, ['1s']])(
    'refuses %p, naming the option',
    (input) => {
      expect(() => toMilliseconds(input, 'Option ttl.idleFor')).toThrow(InvalidManagementOptionsError);
      expect(() => toMilliseconds(input, 'Option ttl.idleFor')).toThrow(
        /^nestjs-session-memory: Option ttl\.idleFor must be a positive duration/,
      );
    },
  );
});
