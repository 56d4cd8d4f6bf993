import { SessionStorageError, SessionStorageUnavailableError, InvalidLimitError } from '../../lib';
import { isUnavailable, toSessionMemoryError } from '../../lib/storage/storage-errors';

const driverError = (fields: Record<string, unknown>, message = 'boom') => Object.assign(new Error(message), fields);

describe('error mapping', () => {
  it.each([
    ['a refused connection', driverError({ code: 'ECONNREFUSED' })],
    ['a PostgreSQL statement timeout', driverError({ code: '57014' })],
    ['a PostgreSQL connection exception class', driverError({ code: '08006' })],
    ['a MySQL lock wait timeout', driverError({ errno: 1205 })],
    ['a mysql2 client-side timeout', driverError({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' })],
    ['a busy SQLite database', driverError({ code: 'SQLITE_BUSY' })],
    ['a pg pool that cannot connect in time', driverError({}, 'timeout exceeded when trying to connect')],
    [
      'a TypeORM released query runner',
      Object.assign(new Error('x'), { name: 'QueryRunnerProviderAlreadyReleasedError' }),
    ],
  ])('%s is "unavailable" (retry later)', (_what, err) => {
    expect(isUnavailable(err)).toBe(true);
    const mapped = toSessionMemoryError(err, 'addItems');
    expect(mapped).toBeInstanceOf(SessionStorageUnavailableError);
    expect(mapped.message).toMatch(/^nestjs-session-memory: addItems failed because the database is unavailable \(/);
    expect((mapped as Error & { cause?: unknown }).cause).toBe(err);
  });

  it.each([
    ['a unique violation', driverError({ code: '23505' }, 'duplicate key')],
    ['a syntax error', driverError({ errno: 1064 }, 'You have an error in your SQL syntax')],
    ['a string', 'weird'],
  ])('%s is a storage error, not "unavailable"', (_what, err) => {
    expect(isUnavailable(err)).toBe(false);
    const mapped = toSessionMemoryError(err, 'popItem');
    expect(mapped).toBeInstanceOf(SessionStorageError);
    expect(mapped).not.toBeInstanceOf(SessionStorageUnavailableError);
    expect(mapped.message).toMatch(/^nestjs-session-memory: popItem failed in the database: /);
  });

  it("passes the package's own errors through unchanged", () => {
    const own = new InvalidLimitError('limit must be a whole number');
    expect(toSessionMemoryError(own, 'getItems')).toBe(own);
  });

  it.each([null, undefined, 42])('%p is not "unavailable"', (value) => {
    expect(isUnavailable(value)).toBe(false);
  });
});
