/**
 * Durations as people type them in chat: `30s`, `15m`, `2h`, `1d`, `1h30m`.
 * Units must appear largest first and at most once each, so `30m1h` and `1h1h` are refused
 * rather than guessed at.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * The smallest window the bot will grant. Kept small on purpose (the product promise is "exactly that
 * long"), and never above 10 seconds so that short real windows can be exercised end to end.
 */
export const MIN_DURATION_MS = 5 * SECOND;
/** A hard ceiling no policy can raise: a "temporary" grant of more than 30 days is standing access. */
export const MAX_DURATION_MS = 30 * DAY;

const PATTERN = /^(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?$/;

export type DurationResult = { ok: true; ms: number } | { ok: false; problem: string };

/** Bounds default to what a grant may last; other uses (intervals) pass their own. */
export function parseDuration(input: string, bounds: { minMs?: number; maxMs?: number } = {}): DurationResult {
  const minMs = bounds.minMs ?? MIN_DURATION_MS;
  const maxMs = bounds.maxMs ?? MAX_DURATION_MS;
  const text = input.trim().toLowerCase();
  const match = PATTERN.exec(text);
  if (text === '' || !match) {
    return { ok: false, problem: `"${input}" is not a duration; use forms like 30s, 15m, 2h, 1d or 1h30m` };
  }
  const [, d, h, m, s] = match;
  const ms = Number(d ?? 0) * DAY + Number(h ?? 0) * HOUR + Number(m ?? 0) * MINUTE + Number(s ?? 0) * SECOND;
  if (ms < minMs) {
    return { ok: false, problem: `${input} is too short; the minimum is ${formatDuration(minMs)}` };
  }
  if (ms > maxMs) {
    return { ok: false, problem: `${input} is too long; the maximum is ${formatDuration(maxMs)}` };
  }
  return { ok: true, ms };
}

/** `5400000` → `1h30m`. Seconds are shown only when they are not a whole minute. */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / SECOND));
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.length === 0 ? '0s' : parts.join('');
}
