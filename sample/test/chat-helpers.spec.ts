import { HttpException, UnauthorizedException } from '@nestjs/common';
import { DemoHeaderAuthenticator } from '../src/auth/demo-header.authenticator';
import { MAX_TITLE_LENGTH, titleFor } from '../src/conversation-title';
import { words } from '../src/local-model';
import { sampleConfigFrom } from '../src/sample.config';
import { StreamSlots } from '../src/streams/stream-slots';

/**
 * The sample's pure helpers: conversation titles, the demo authenticator, the open-stream counter, the
 * settings read from the environment, the local model's word deltas.
 */

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

describe("DemoHeaderAuthenticator (the sample's demo mode: the caller is whoever the client claims)", () => {
  const demo = new DemoHeaderAuthenticator();

  it('reads the x-caller-id header, else the caller query parameter (for an EventSource)', () => {
    expect(demo.authenticate({ headers: { 'x-caller-id': 'ada' }, query: { caller: 'bob' } })).toEqual({ id: 'ada' });
    expect(demo.authenticate({ headers: {}, query: { caller: 'bob' } })).toEqual({ id: 'bob' });
  });

  it('finds no caller, rather than a shared default, when neither names exactly one', () => {
    expect(demo.authenticate({ headers: {}, query: {} })).toBeUndefined();
    expect(demo.authenticate({ headers: { 'x-caller-id': '' }, query: { caller: '' } })).toBeUndefined();
    expect(demo.authenticate({ headers: {}, query: { caller: ['bob', 'eve'] } })).toBeUndefined();
    expect(demo.authenticate({ headers: { 'x-caller-id': ['a', 'b'] } })).toBeUndefined();
    expect(demo.missingCallerMessage).toMatch(/x-caller-id/);
  });

  it('refuses an id the module would refuse (over 255 characters, a NUL) with a 401 saying why', () => {
    expect(() => demo.authenticate({ headers: { 'x-caller-id': 'x'.repeat(256) } })).toThrow(UnauthorizedException);
    expect(() => demo.authenticate({ headers: {}, query: { caller: 'a\u0000b' } })).toThrow(/caller id/);
    expect(demo.authenticate({ headers: { 'x-caller-id': 'x'.repeat(255) } })).toEqual({ id: 'x'.repeat(255) });
  });
});

describe('StreamSlots (open event streams, per caller and in total)', () => {
  const refusal = (fn: () => unknown): { status: number; message: string } => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(HttpException);
      const e = err as HttpException;
      return { status: e.getStatus(), message: (e.getResponse() as { message: string }).message };
    }
    throw new Error('expected a refusal');
  };

  it('gives each caller at most perCaller slots, and everyone together at most total (429 past either)', () => {
    const slots = new StreamSlots({ perCaller: 2, total: 3 });
    const a1 = slots.acquire('ada');
    slots.acquire('ada');
    expect(refusal(() => slots.acquire('ada'))).toEqual({
      status: 429,
      message: expect.stringMatching(/^At most 2 open event streams per caller: close one/),
    });
    slots.acquire('bob');
    expect(refusal(() => slots.acquire('carol'))).toEqual({
      status: 429,
      message: expect.stringMatching(/^At most 3 open event streams in total/),
    });
    expect([slots.inUse(), slots.inUse('ada'), slots.inUse('bob'), slots.inUse('carol')]).toEqual([3, 2, 1, 0]);
    a1();
    expect([slots.inUse(), slots.inUse('ada')]).toEqual([2, 1]);
    slots.acquire('carol');
    expect(slots.inUse()).toBe(3);
  });

  it('a release counts once, however often it is called', () => {
    const slots = new StreamSlots({ perCaller: 1, total: 10 });
    const release = slots.acquire('ada');
    release();
    release();
    expect(slots.inUse()).toBe(0);
    const again = slots.acquire('ada');
    release(); // the old slot's release does not free the new one
    expect(slots.inUse('ada')).toBe(1);
    again();
    expect(slots.inUse()).toBe(0);
  });

  it('refuses caps that are not whole numbers >= 1', () => {
    expect(() => new StreamSlots({ perCaller: 0, total: 1 })).toThrow(/perCaller/);
    expect(() => new StreamSlots({ perCaller: 1, total: 1.5 })).toThrow(/total/);
  });
});

describe('sampleConfigFrom (the settings, from the environment)', () => {
  it('defaults: demo authentication off, 8 streams per caller, 1,000 in total', () => {
    expect(sampleConfigFrom({})).toMatchObject({ demoAuth: false, maxStreamsPerCaller: 8, maxStreams: 1000 });
  });

  it('reads SAMPLE_DEMO_AUTH (1 or 0) and the stream caps', () => {
    const env = { SAMPLE_DEMO_AUTH: '1', SAMPLE_MAX_STREAMS_PER_CALLER: '3', SAMPLE_MAX_STREAMS: '50' };
    expect(sampleConfigFrom(env)).toMatchObject({ demoAuth: true, maxStreamsPerCaller: 3, maxStreams: 50 });
    expect(sampleConfigFrom({ SAMPLE_DEMO_AUTH: '0' }).demoAuth).toBe(false);
  });

  it('refuses what it cannot read, saying what to set', () => {
    expect(() => sampleConfigFrom({ SAMPLE_DEMO_AUTH: 'yes' })).toThrow(/SAMPLE_DEMO_AUTH is "yes": set it to 1/);
    expect(() => sampleConfigFrom({ SAMPLE_MAX_STREAMS: '0' })).toThrow(/SAMPLE_MAX_STREAMS is "0"/);
    expect(() => sampleConfigFrom({ SAMPLE_MAX_STREAMS_PER_CALLER: 'many' })).toThrow(
      /SAMPLE_MAX_STREAMS_PER_CALLER is "many"/,
    );
    expect(() => sampleConfigFrom({ PORT: '70000' })).toThrow(/PORT is "70000"/);
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
