import { describe, it, expect } from 'vitest';
import {
  DAY,
  HOUR,
  MAX_DURATION_MS,
  MIN_DURATION_MS,
  MINUTE,
  SECOND,
  formatDuration,
  parseDuration,
} from '../../src/domain/duration.js';

describe('parseDuration: what a user may type', () => {
  it.each([
    ['30s', 30 * SECOND],
    ['15m', 15 * MINUTE],
    ['2h', 2 * HOUR],
    ['1d', DAY],
    ['1h30m', HOUR + 30 * MINUTE],
    ['1d2h', DAY + 2 * HOUR],
    ['2H', 2 * HOUR],
    ['1H30M', HOUR + 30 * MINUTE],
    ['  2h  ', 2 * HOUR],
    ['1d2h3m4s', DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND],
    ['5s', MIN_DURATION_MS],
    ['30d', MAX_DURATION_MS],
  ])('%j is %i ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, ms });
  });
});

describe('parseDuration: what it refuses, and how it explains', () => {
  const notADuration = /is not a duration; use forms like 30s, 15m, 2h, 1d or 1h30m/;

  it.each([
    ['empty', '', notADuration],
    ['only spaces', '   ', notADuration],
    ['a number without a unit', '2', notADuration],
    ['a unit without a number', 'h', notADuration],
    ['units in the wrong order', '30m1h', notADuration],
    ['a unit twice', '1h1h', notADuration],
    ['negative', '-2h', notADuration],
    ['a fraction', '1.5h', notADuration],
    ['words', '2 hours', notADuration],
    ['an unknown unit', '2w', notADuration],
    ['below the minimum', '4s', /^4s is too short; the minimum is 5s$/],
    ['zero', '0s', /^0s is too short; the minimum is 5s$/],
    ['above the maximum', '30d1s', /^30d1s is too long; the maximum is 30d$/],
    ['far above the maximum', '31d', /^31d is too long; the maximum is 30d$/],
  ])('%s (%j)', (_label, input, problem) => {
    const result = parseDuration(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toMatch(problem);
  });

  it('quotes what the user typed when it is not a duration', () => {
    expect(parseDuration('2 hours')).toEqual({
      ok: false,
      problem: '"2 hours" is not a duration; use forms like 30s, 15m, 2h, 1d or 1h30m',
    });
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [30 * SECOND, '30s'],
    [15 * MINUTE, '15m'],
    [2 * HOUR, '2h'],
    [DAY, '1d'],
    [HOUR + 30 * MINUTE, '1h30m'],
    [DAY + 2 * HOUR, '1d2h'],
    [90 * SECOND, '1m30s'],
    [MAX_DURATION_MS, '30d'],
    [-5 * SECOND, '0s'],
  ])('%i ms reads as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each(['5s', '30s', '15m', '2h', '1d', '1h30m', '1d2h', '1d2h3m4s', '29d23h59m59s', '30d'])(
    '%s survives format → parse → format',
    (text) => {
      const parsed = parseDuration(text);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(formatDuration(parsed.ms)).toBe(text);
      expect(parseDuration(formatDuration(parsed.ms))).toEqual({ ok: true, ms: parsed.ms });
    },
  );
});
