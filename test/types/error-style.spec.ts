import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
/**
 * One error style (issue #24 item 5): every error the package exports is a `SessionMemoryError`, its
 * message starts with `nestjs-session-memory: ` exactly once, `cause` is the native ES2022 property,
 * and `getStatus()` tells the HTTP status it stands for. A `ConversationAccessDeniedError` thrown
 * anywhere in a Nest app (handler, guard, `@Conversation()`) is still answered 403 as a
 * `ForbiddenException` was, with no setup.
 */
import { CanActivate, Controller, Get, INestApplication, Injectable, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import * as api from '../../lib';
import {
  Conversation,
  ConversationAccessDeniedError,
  ConversationSession,
  HistoryOperationConflictError,
  HistorySuffixMismatchError,
  InvalidConversationIdError,
  InvalidSessionInputError,
  SessionMemoryConfigurationError,
  SessionMemoryError,
  SessionMemoryModule,
  SessionNotFoundError,
  SessionStorageError,
  SessionStorageUnavailableError,
  UnreadableItemsError,
  BranchNotFoundError,
} from '../../lib';

const PREFIX = 'nestjs-session-memory: ';

/** Every exported error class, with arguments its constructor accepts. */
const errorClasses = Object.entries(api).filter(
  ([, value]) => typeof value === 'function' && (value as unknown) !== Error && value.prototype instanceof Error,
) as [string, new (...args: any[]) => Error][];

function build(name: string, ErrorClass: new (...args: any[]) => Error): Error {
  if (ErrorClass === SessionNotFoundError || ErrorClass === ConversationAccessDeniedError) return new ErrorClass('c-1');
  if (ErrorClass === UnreadableItemsError) return new ErrorClass('c-1', 2);
  if (ErrorClass === BranchNotFoundError) return new ErrorClass('c-1', 'branch-1');
  if (ErrorClass === HistoryOperationConflictError) return new ErrorClass('c-1', 'op-1');
  if (ErrorClass === HistorySuffixMismatchError) return new ErrorClass('c-1', 'op-1', 3);
  if (name === 'HistoryTransactionRejectedError') return new ErrorClass('refused.', 'SESSION_MEMORY_X', 'c-1', 'op-1');
  return new ErrorClass('something is wrong.');
}

describe('one error style', () => {
  it('exports the errors it documents', () => {
    expect(errorClasses.map(([name]) => name).sort()).toEqual(
      [
        'BranchNotFoundError',
        'ConversationAccessDeniedError',
        'HistoryOperationConflictError',
        'HistorySuffixMismatchError',
        'HistoryTransactionRejectedError',
        'InvalidBranchOperationError',
        'InvalidConversationIdError',
        'InvalidHistoryMutationError',
        'InvalidHistoryTransactionError',
        'InvalidLimitError',
        'InvalidManagementOptionsError',
        'InvalidOwnerError',
        'InvalidSessionInputError',
        'InvalidSessionItemsError',
        'InvalidSessionMetadataError',
        'SessionMemoryConfigurationError',
        'SessionMemoryError',
        'SessionNotFoundError',
        'SessionStorageError',
        'SessionStorageUnavailableError',
        'UnreadableItemsError',
      ].sort(),
    );
  });

  it.each(errorClasses)(
    '%s is a SessionMemoryError with a code, its own name and the prefix once',
    (name, ErrorClass) => {
      const error = build(name, ErrorClass) as SessionMemoryError;
      expect(error).toBeInstanceOf(SessionMemoryError);
      expect(error.name).toBe(name);
      expect(error.code).toMatch(/^SESSION_MEMORY_[A-Z_]+$/);
      expect(error.message.startsWith(PREFIX)).toBe(true);
      expect(error.message.slice(PREFIX.length)).not.toContain('nestjs-session-memory');
      expect([400, 403, 404, 409, 500, 503]).toContain(error.getStatus());
    },
  );

  it('adds the prefix itself, once; no error is written with it by hand', () => {
    expect(new SessionMemoryError('x.').message).toBe(`${PREFIX}x.`);
    expect(new SessionNotFoundError('c').message).toBe(
      `${PREFIX}Conversation "c" does not exist. Check the id, or create it by adding items first.`,
    );
    expect(new ConversationAccessDeniedError('bob-7').message).toBe(
      `${PREFIX}conversation "bob-7" belongs to another caller.`,
    );
    // Log lines write the prefix themselves (retention's); error messages never do.
    const lib = join(__dirname, '..', '..', 'lib');
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const byHand = sources(lib).filter((file) => {
      const text = readFileSync(file, 'utf8');
      return (
        /new \w+Error\(\s*`\$\{SESSION_MEMORY\}|`\$\{SESSION_MEMORY\}:[^`]*`,?\s*(\{ cause|\))/.test(text) &&
        !file.endsWith('retention.ts') &&
        !file.endsWith('message-prefix.ts')
      );
    });
    expect(byHand.map((file) => file.slice(lib.length + 1))).toEqual([]);
  });

  it('uses the native cause, set only when given', () => {
    const driver = new Error('connection reset');
    const unavailable = new SessionStorageUnavailableError('down.', { cause: driver });
    expect(unavailable.cause).toBe(driver);
    expect(Object.getOwnPropertyDescriptor(unavailable, 'cause')).toMatchObject({ enumerable: false, writable: true });
    expect(new SessionStorageError('refused.', { cause: driver, code: 'SESSION_MEMORY_X' })).toMatchObject({
      cause: driver,
      code: 'SESSION_MEMORY_X',
    });
    expect(new SessionMemoryConfigurationError('bad.', { cause: undefined })).toHaveProperty('cause', undefined);
    expect('cause' in new SessionMemoryConfigurationError('bad.')).toBe(false);
    expect('cause' in new SessionStorageError('refused.')).toBe(false);
  });

  it('tells its HTTP status', () => {
    expect(new InvalidSessionInputError('x').getStatus()).toBe(400);
    expect(new InvalidConversationIdError('x').getStatus()).toBe(400);
    expect(new ConversationAccessDeniedError('c').getStatus()).toBe(403);
    expect(new SessionNotFoundError('c').getStatus()).toBe(404);
    expect(new HistorySuffixMismatchError('c', 'o', 1).getStatus()).toBe(409);
    expect(new SessionStorageUnavailableError('x').getStatus()).toBe(503);
    expect(new SessionStorageError('x').getStatus()).toBe(500);
    expect(new UnreadableItemsError('c', 1).getStatus()).toBe(500);
  });
});

@Injectable()
class DenyingGuard implements CanActivate {
  canActivate(): boolean {
    throw new ConversationAccessDeniedError('guarded');
  }
}

@Controller()
class ErrorsController {
  @Get('denied')
  denied(): never {
    throw new ConversationAccessDeniedError('bob-7');
  }

  @Get('guarded')
  @UseGuards(DenyingGuard)
  guarded(): string {
    return 'unreachable';
  }

  @Get('session')
  session(@Conversation() session: ConversationSession): Promise<string> {
    return session.getSessionId();
  }

  @Get('invalid')
  invalid(): never {
    throw new InvalidSessionInputError('bad input.');
  }
}

describe('HTTP statuses with no setup', () => {
  let app: INestApplication;

  beforeAll(async () => {
    @Module({ imports: [SessionMemoryModule.forRoot({ url: 'sqlite::memory:' })], controllers: [ErrorsController] })
    class AppModule {}
    app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
  });
  afterAll(() => app?.close());

  it('answers a ConversationAccessDeniedError from a handler as a ForbiddenException: 403, same body', async () => {
    const res = await request(app.getHttpServer()).get('/denied');
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      message: 'nestjs-session-memory: conversation "bob-7" belongs to another caller.',
      error: 'Forbidden',
      statusCode: 403,
    });
  });

  it('keeps the bodies of the conversation id refusals: 400 with the reason unprefixed, 403 as before', async () => {
    const long = await request(app.getHttpServer()).get('/session').set('x-conversation-id', 'x'.repeat(256));
    expect(long.status).toBe(400);
    expect(long.body).toEqual({
      message:
        'Invalid conversation id in header x-conversation-id: The conversation id is 256 characters long; at most 255 are allowed. Use a shorter id (a UUID or a hash).',
      error: 'Bad Request',
      statusCode: 400,
    });
  });

  it('answers one thrown by a guard with 403 too', async () => {
    expect((await request(app.getHttpServer()).get('/guarded')).status).toBe(403);
  });

  it('leaves every other error to Nest as before (500, message not shown)', async () => {
    const res = await request(app.getHttpServer()).get('/invalid');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
  });
});
