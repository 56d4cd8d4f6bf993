import { Watermarks } from '../../lib/search/watermarks';

/** The bookkeeping that lets an index pass after appends read only the rows after those it indexed. */
describe('search watermarks (pure)', () => {
  const largest = (id: bigint) => new Map([['c', id]]);
  const full = new Set(['c']);

  it('moves to the largest id a read returned when no append of this process ran during the read', () => {
    const w = new Watermarks();
    expect(w.of('c')).toBeUndefined();
    w.after(w.before(['c']), largest(10n), full, true);
    expect(w.of('c')).toBe('10');
    w.after(w.before(['c']), largest(14n), new Set(), true);
    expect(w.of('c')).toBe('14');
    w.after(w.before(['c']), new Map(), new Set(), true); // nothing new: stays
    expect(w.of('c')).toBe('14');
  });

  it('does not move when an append ran at the start of the read, or started during it (it may hold a smaller id)', () => {
    const w = new Watermarks();
    w.after(w.before(['c']), largest(10n), full, true);
    w.appendStarted('c');
    const seen = w.before(['c']);
    w.appendEnded('c');
    w.after(seen, largest(20n), new Set(), true);
    expect(w.of('c')).toBe('10');
    const seen2 = w.before(['c']);
    w.appendStarted('c');
    w.appendEnded('c');
    w.after(seen2, largest(30n), new Set(), true);
    expect(w.of('c')).toBe('10');
    // An append that ended before the read was sent is committed: the read saw its rows.
    w.appendStarted('c');
    w.appendEnded('c');
    w.after(w.before(['c']), largest(40n), new Set(), true);
    expect(w.of('c')).toBe('40');
  });

  it('forgets every watermark when a pass fails, and trusts one for a minute after a whole read', () => {
    const w = new Watermarks();
    w.after(w.before(['c']), largest(10n), full, true);
    w.after(w.before(['c']), largest(12n), new Set(), false);
    expect(w.of('c')).toBeUndefined();
    w.after(w.before(['c']), largest(10n), full, true);
    expect(w.of('c', Date.now() + 59_000)).toBe('10');
    expect(w.of('c', Date.now() + 61_000)).toBeUndefined();
  });

  it('remembers a whole read that succeeded for a minute, even with appends running (not a failed pass, nor a read after a watermark)', () => {
    const w = new Watermarks();
    expect(w.readWholeRecently('c')).toBe(false);
    w.appendStarted('c');
    w.after(w.before(['c']), largest(10n), full, true);
    w.appendEnded('c');
    expect(w.of('c')).toBeUndefined(); // an append ran: no watermark
    expect(w.readWholeRecently('c')).toBe(true);
    expect(w.readWholeRecently('c', Date.now() + 59_000)).toBe(true);
    expect(w.readWholeRecently('c', Date.now() + 61_000)).toBe(false);
    w.after(w.before(['d']), largest(10n), new Set(), true); // read after a watermark only
    expect(w.readWholeRecently('d')).toBe(false);
    w.after(w.before(['c']), largest(12n), full, true);
    w.after(w.before(['e']), new Map(), new Set(['e']), false); // a failed pass forgets them all
    expect(w.readWholeRecently('c')).toBe(false);
  });
});
