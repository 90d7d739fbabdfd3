// Schedules of scheduled jobs: classic 5-field cron (minute hour day-of-month month day-of-week),
// a 6-field form with seconds in front, the @-macros, and `@every DURATION`. Pure: parse once,
// then ask for the next run after an instant. Times are the host's local time, as cron's are.
// Hand-written because no cron package is among berth's dependencies and the agent is one
// bundled file; this is the whole of what the watcher needs.
import { parseDuration } from '../modules/lib/duration.js';

export type Schedule =
  | { kind: 'every'; text: string; ms: number }
  | {
      kind: 'cron';
      text: string;
      /** Allowed values per field, as lookup tables indexed by value. */
      seconds: boolean[];
      minutes: boolean[];
      hours: boolean[];
      days: boolean[];
      months: boolean[];
      weekdays: boolean[];
      /** A 6-field schedule: it steps by seconds, not by minutes. */
      withSeconds: boolean;
      /** Day-of-month and day-of-week written as `*`: when both are restricted, either may match (Vixie cron's rule). */
      anyDay: boolean;
      anyWeekday: boolean;
    };

export type ScheduleResult = { ok: true; value: Schedule } | { ok: false; error: { code: string; message: string } };

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  name: string;
  min: number;
  max: number;
  /** Names for values, from `min` on. */
  names?: string[];
}

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, as in every cron.
  { name: 'day of week', min: 0, max: 7, names: WEEKDAYS },
];

/** Shortest `@every` interval: the watcher's timers are not meant for sub-second loops. */
const MIN_EVERY_MS = 1000;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const bad = (message: string): ScheduleResult => ({ ok: false, error: { code: 'schedule.invalid', message } });

export function parseSchedule(input: string): ScheduleResult {
  const text = input.trim();
  if (text === '') return bad('the schedule is empty: expected a cron expression like "*/5 * * * *", a macro like "@daily" or "@every 30s"');
  if (text.startsWith('@')) {
    const [macro, ...rest] = text.split(/\s+/);
    const lower = macro.toLowerCase();
    if (lower === '@every') {
      const ms = rest.length === 1 ? parseDuration(rest[0]) : undefined;
      if (ms === undefined) return bad(`"${text}": @every needs one duration, like "@every 30s" or "@every 1h30m"`);
      if (ms < MIN_EVERY_MS) return bad(`"${text}": the interval must be at least 1s`);
      return { ok: true, value: { kind: 'every', text, ms } };
    }
    if (lower === '@reboot') return bad(`"${text}": @reboot is not supported: a scheduled job runs on a timer (use a service, or a job run by apply)`);
    const expanded = MACROS[lower];
    if (!expanded || rest.length) return bad(`"${text}": unknown macro; expected one of ${Object.keys(MACROS).join(', ')} or @every DURATION`);
    const r = parseCron(expanded);
    return r.ok ? { ok: true, value: { ...r.value, text } } : r;
  }
  return parseCron(text);
}

function parseCron(text: string): ScheduleResult {
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return bad(`"${text}": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with seconds first), got ${parts.length}`);
  const withSeconds = parts.length === 6;
  const fields = withSeconds ? [SECOND, ...FIELDS] : FIELDS;
  const tables: boolean[][] = [];
  for (const [i, part] of parts.entries()) {
    const t = parseField(part, fields[i]);
    if (typeof t === 'string') return bad(`"${text}": ${t}`);
    tables.push(t);
  }
  const [seconds, minutes, hours, days, months, weekdays] = withSeconds ? tables : [[true, ...Array<boolean>(59).fill(false)], ...tables];
  // Sunday is 0 and 7; the lookup uses Date#getDay(), which says 0.
  if (weekdays[7]) weekdays[0] = true;
  const star = (p: string) => p.startsWith('*') || p === '?';
  const anyDay = star(parts[withSeconds ? 3 : 2]);
  const anyWeekday = star(parts[withSeconds ? 5 : 4]);
  const value: Schedule = { kind: 'cron', text, seconds, minutes, hours, days, months, weekdays, withSeconds, anyDay, anyWeekday };
  // "30 2" (February 30th) parses, but would never run: say so now rather than stay silent forever.
  if (!anyDay && anyWeekday && !months.some((on, m) => on && days.some((d, day) => d && day <= DAYS_IN_MONTH[m - 1]))) {
    return bad(`"${text}": no month of the schedule has that day, so it would never run`);
  }
  return { ok: true, value };
}

/** One field (`*`, `5`, `1-5`, `*\/15`, `10-50/20`, `mon-fri`, lists of these) as a lookup table, or what is wrong with it. */
function parseField(part: string, f: Field): boolean[] | string {
  const table = Array<boolean>(f.max + 1).fill(false);
  for (const item of part.split(',')) {
    const m = /^(\*|\?|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(item);
    if (!m) return `${f.name} "${item}" is not a value, a range (1-5), a step (*/15) or a list of these`;
    const [, from, to, stepText] = m;
    if (from === '?' && f.name !== 'day of month' && f.name !== 'day of week') return `${f.name}: "?" is only allowed for the day fields`;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) return `${f.name} "${item}": a step must be 1 or more`;
    let lo: number;
    let hi: number;
    if (from === '*' || from === '?') {
      if (to !== undefined) return `${f.name} "${item}": * cannot start a range`;
      lo = f.min;
      hi = f.max;
    } else {
      const a = value(from, f);
      if (typeof a === 'string') return a;
      lo = a;
      if (to !== undefined) {
        const b = value(to, f);
        if (typeof b === 'string') return b;
        hi = b;
      } else {
        // "5/10" is "from 5 on, every 10th"; a plain "5" is just 5.
        hi = stepText === undefined ? a : f.max;
      }
      if (lo > hi) return `${f.name} "${item}": the range runs backwards (${lo} > ${hi})`;
    }
    for (let v = lo; v <= hi; v += step) table[v] = true;
  }
  return table;
}

function value(text: string, f: Field): number | string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n < f.min || n > f.max ? `${f.name} ${n} is out of range (${f.min}-${f.max})` : n;
  }
  const at = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (at < 0) return f.names ? `${f.name} "${text}" is not a number or a name (${f.names.join(', ')})` : `${f.name} "${text}" is not a number`;
  return at + (f.name === 'month' ? 1 : 0);
}

/** Eight years cover every leap-day schedule; anything that matches nothing in them never runs. */
const HORIZON_MS = 8 * 366 * 86_400_000;

/**
 * The first run strictly after `after`. For `@every`, `after` is the last run (or the moment the
 * schedule started): the next one is an interval later.
 */
export function nextRun(s: Schedule, after: Date): Date | undefined {
  if (s.kind === 'every') return new Date(after.getTime() + s.ms);
  const unit = s.withSeconds ? 1000 : 60_000;
  let t = new Date(Math.floor(after.getTime() / unit) * unit + unit);
  const limit = after.getTime() + HORIZON_MS;
  // Each step jumps to the start of the next month, day, hour, minute or second that could
  // match. Local-time arithmetic through the Date constructor handles month lengths and DST;
  // where a DST fold would send it backwards, it moves on by one unit instead.
  const move = (next: Date) => (t = next.getTime() > t.getTime() ? next : new Date(t.getTime() + unit));
  while (t.getTime() <= limit) {
    const [y, mo, d, h, mi, se] = [t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds()];
    if (!s.months[mo + 1]) move(new Date(y, mo + 1, 1));
    else if (!dayMatches(s, d, t.getDay())) move(new Date(y, mo, d + 1));
    else if (!s.hours[h]) move(new Date(y, mo, d, h + 1));
    else if (!s.minutes[mi]) move(new Date(y, mo, d, h, mi + 1));
    else if (!s.seconds[se]) move(new Date(y, mo, d, h, mi, se + 1));
    else return t;
  }
  return undefined;
}

function dayMatches(s: Extract<Schedule, { kind: 'cron' }>, day: number, weekday: number): boolean {
  if (s.anyDay && s.anyWeekday) return true;
  if (s.anyDay) return s.weekdays[weekday];
  if (s.anyWeekday) return s.days[day];
  return s.days[day] || s.weekdays[weekday];
}
