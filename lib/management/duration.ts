import { InvalidManagementOptionsError } from '../exceptions';

export type { Duration } from '../interfaces';

/** Longest accepted duration: 100 years (of 365.25 days), in milliseconds. */
export const MAX_DURATION_MS = 100 * 365.25 * 86_400_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;

/**
 * Converts a `Duration` to whole milliseconds (> 0), at most `max.ms` (default 100 years: every
 * dialect can then still compute "now minus this").
 * @throws InvalidManagementOptionsError naming `what` when it is not a positive duration within `max`.
 */
export function toMilliseconds(
  value: unknown,
  what: string,
  max: { ms: number; text: string } = { ms: MAX_DURATION_MS, text: '100 years' },
): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    PART.lastIndex = 0;
    let total = 0;
    let matched = 0;
    let m: RegExpExecArray | null;
    while ((m = PART.exec(text)) !== null) {
      total += Number(m[1]) * UNIT_MS[m[2]];
      matched = PART.lastIndex;
      while (text[PART.lastIndex] === ' ') PART.lastIndex++;
      matched = PART.lastIndex;
    }
    if (matched === text.length && text.length > 0) ms = total;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > max.ms) {
    const given = JSON.stringify(value) ?? String(value);
    throw new InvalidManagementOptionsError(
      `${what} must be a positive duration of at most ${max.text} (${max.ms} ms): milliseconds as a number, or a string like '30d', '12h', '1h30m', '45s', '500ms'; got ${given.length > 80 ? `${given.slice(0, 80)}…` : given}.`,
    );
  }
  return Math.max(1, Math.round(ms));
}
