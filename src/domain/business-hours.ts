/**
 * Business hours in a time zone: is `now` within them, and how to say them. Pure: `now` is given, and the
 * zone's rules (DST included) come from the runtime's time zone data through `Intl`.
 */
import { WEEKDAYS, type BusinessHours, type Weekday } from './policy.js';

const HH_MM = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;

/** `09:30` → 570; null when not a 24-hour `HH:MM` (`24:00` is accepted, as the end of a day). */
export function minutesOf(hhmm: string): number | null {
  const m = HH_MM.exec(hhmm);
  if (!m) return null;
  return Number(m[1] ?? m[3]) * 60 + Number(m[2] ?? m[4]);
}

/** True when `tz` names a time zone the runtime knows (`Europe/Paris`, `UTC`). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalTime {
  day: Weekday;
  /** Minutes since local midnight. */
  minutes: number;
  /** `Sat 23:10` */
  label: string;
}

/** The wall-clock day and time at `now` in `tz`. */
export function localTime(now: Date, tz: string): LocalTime {
  const parts = Object.fromEntries(formatter(tz).formatToParts(now).map((p) => [p.type, p.value]));
  const day = String(parts.weekday).slice(0, 3).toLowerCase() as Weekday;
  const hour = Number(parts.hour) % 24;
  const minute = Number(parts.minute);
  return { day, minutes: hour * 60 + minute, label: `${capital(day)} ${pad(hour)}:${pad(minute)}` };
}

export function withinBusinessHours(hours: BusinessHours, now: Date): boolean {
  const local = localTime(now, hours.tz);
  const start = minutesOf(hours.start) ?? 0;
  const end = minutesOf(hours.end) ?? 24 * 60;
  return hours.days.includes(local.day) && local.minutes >= start && local.minutes < end;
}

/** `Mon–Fri 09:00–18:00 Europe/Paris`; days that are not one run are listed (`Mon, Wed, Fri`). */
export function describeHours(hours: BusinessHours): string {
  const idx = [...new Set(hours.days)].map((d) => WEEKDAYS.indexOf(d)).sort((a, b) => a - b);
  const run = idx.length >= 3 && idx.every((d, i) => i === 0 || d === (idx[i - 1] ?? 0) + 1);
  const days = run ? `${capital(WEEKDAYS[idx[0] ?? 0])}–${capital(WEEKDAYS[idx.at(-1) ?? 0])}` : idx.map((d) => capital(WEEKDAYS[d])).join(', ');
  return `${days} ${hours.start}–${hours.end} ${hours.tz}`;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const capital = (day: Weekday | undefined): string => (day ? day[0]?.toUpperCase() + day.slice(1) : '');
