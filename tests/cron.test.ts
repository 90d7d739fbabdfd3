// The schedules of scheduled jobs (lang/cron.ts): what parses, what is refused and why,
// and when the next run is. Times are built in local time, as cron reads them on the host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nextRun, parseSchedule, type Schedule } from '../lang/cron.js';

const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s);

function parsed(text: string): Schedule {
  const r = parseSchedule(text);
  if (!r.ok) throw new Error(`${text}: ${r.error.message}`);
  return r.value;
}

/** The next `n` runs after `from`, each as local "YYYY-MM-DD HH:MM:SS". */
function runs(text: string, from: Date, n = 1): string[] {
  const s = parsed(text);
  const out: string[] = [];
  let t = from;
  for (let i = 0; i < n; i++) {
    const next = nextRun(s, t);
    if (!next) break;
    out.push(local(next));
    t = next;
  }
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');
const local = (t: Date) => `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;

test('a step runs on its multiples, strictly after the given time', () => {
  assert.equal(runs('*/5 * * * *', at(2024, 6, 3, 10, 2, 30), 3), ['2024-06-03 10:05:00', '2024-06-03 10:10:00', '2024-06-03 10:15:00']);
  assert.equal(runs('*/5 * * * *', at(2024, 6, 3, 10, 5, 0)), ['2024-06-03 10:10:00'], 'a due time is never returned twice');
  assert.equal(runs('5/15 * * * *', at(2024, 6, 3, 10, 0), 4), ['2024-06-03 10:05:00', '2024-06-03 10:20:00', '2024-06-03 10:35:00', '2024-06-03 10:50:00']);
  assert.equal(runs('10-30/10 8 * * *', at(2024, 6, 3, 8, 15), 3), ['2024-06-03 08:20:00', '2024-06-03 08:30:00', '2024-06-04 08:10:00']);
});

test('a day of */15 has 96 due times (midnight, then 95 more), and the last rolls into the next day', () => {
  const s = parsed('*/15 * * * *');
  let t = at(2024, 6, 3, 0, 0, 0);
  let count = 0;
  for (;;) {
    t = nextRun(s, t)!;
    if (t >= at(2024, 6, 4)) break;
    count++;
  }
  assert.is(count, 95, 'midnight itself was the start, so 95 more the same day');
  assert.is(local(t), '2024-06-04 00:00:00');
});

test('lists, ranges and names of months and weekdays', () => {
  assert.equal(runs('0 9 1,15 * *', at(2024, 1, 15, 9, 0), 2), ['2024-02-01 09:00:00', '2024-02-15 09:00:00']);
  // 2024-05-03 is a Friday.
  assert.equal(runs('30 2 * * mon-fri', at(2024, 5, 3, 3, 0), 2), ['2024-05-06 02:30:00', '2024-05-07 02:30:00']);
  assert.equal(runs('15 10 1 jan,JUL *', at(2024, 2, 1)), ['2024-07-01 10:15:00']);
  assert.equal(runs('0 0 * * 7', at(2024, 6, 3)), ['2024-06-09 00:00:00'], '7 is Sunday, like 0');
  assert.equal(runs('0 0 * * sun', at(2024, 6, 3)), ['2024-06-09 00:00:00']);
});

test('day of month and day of week both restricted: either one matches (Vixie cron)', () => {
  // 2024-09-06 is a Friday, before the 13th.
  assert.equal(runs('0 12 13 * fri', at(2024, 9, 1), 3), ['2024-09-06 12:00:00', '2024-09-13 12:00:00', '2024-09-20 12:00:00']);
  // With a * day of month, only the weekday counts.
  assert.equal(runs('0 12 * * fri', at(2024, 9, 7)), ['2024-09-13 12:00:00']);
});

test('February 29th waits for the next leap year', () => {
  assert.equal(runs('0 0 29 2 *', at(2024, 3, 1)), ['2028-02-29 00:00:00']);
});

test('macros', () => {
  const from = at(2024, 6, 3, 10, 30);
  assert.equal(runs('@hourly', from), ['2024-06-03 11:00:00']);
  assert.equal(runs('@daily', from), ['2024-06-04 00:00:00']);
  assert.equal(runs('@midnight', from), ['2024-06-04 00:00:00']);
  assert.equal(runs('@weekly', from), ['2024-06-09 00:00:00']);
  assert.equal(runs('@monthly', from), ['2024-07-01 00:00:00']);
  assert.equal(runs('@yearly', from), ['2025-01-01 00:00:00']);
  assert.equal(runs('@annually', from), ['2025-01-01 00:00:00']);
  assert.is(parsed('@Daily').text, '@Daily', 'macros are case-insensitive and keep their text');
});

test('@every counts an interval from the last run', () => {
  const s = parsed('@every 2s');
  assert.equal(s.kind === 'every' && s.ms, 2000);
  assert.is(nextRun(s, at(2024, 6, 3, 10, 0, 0))!.getTime() - at(2024, 6, 3, 10, 0, 0).getTime(), 2000);
  assert.equal(runs('@every 1h30m', at(2024, 6, 3, 10, 0), 2), ['2024-06-03 11:30:00', '2024-06-03 13:00:00']);
});

test('six fields put seconds first', () => {
  assert.equal(runs('*/20 * * * * *', at(2024, 6, 3, 10, 0, 5), 3), ['2024-06-03 10:00:20', '2024-06-03 10:00:40', '2024-06-03 10:01:00']);
  assert.equal(runs('30 0 12 * * *', at(2024, 6, 3, 13, 0)), ['2024-06-04 12:00:30']);
});

test('bad expressions are refused with what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['* * * *', /expected 5 fields .* got 4/],
    ['* * * * * * *', /got 7/],
    ['60 * * * *', /minute 60 is out of range \(0-59\)/],
    ['* 24 * * *', /hour 24 is out of range/],
    ['* * 0 * *', /day of month 0 is out of range \(1-31\)/],
    ['* * * 13 *', /month 13 is out of range/],
    ['* * * * 8', /day of week 8 is out of range/],
    ['5-2 * * * *', /runs backwards/],
    ['*/0 * * * *', /step must be 1 or more/],
    ['1-2-3 * * * *', /not a value, a range/],
    ['* * * foo *', /month "foo" is not a number or a name/],
    ['? * * * *', /only allowed for the day fields/],
    ['every 5 minutes please ok', /minute "every" is not a number/],
    ['0 0 30 2 *', /would never run/],
    ['0 0 31 4,6 *', /would never run/],
    ['@reboot', /@reboot is not supported/],
    ['@fortnightly', /unknown macro/],
    ['@daily now', /unknown macro/],
    ['@every', /@every needs one duration/],
    ['@every soon', /@every needs one duration/],
    ['@every 0s', /at least 1s/],
    ['@every 500ms', /at least 1s/],
  ];
  for (const [text, why] of cases) {
    const r = parseSchedule(text);
    assert.ok(!r.ok, `"${text}" should be refused`);
    if (!r.ok) {
      assert.is(r.error.code, 'schedule.invalid');
      assert.match(r.error.message, why, `"${text}": ${r.error.message}`);
    }
  }
});

test('a restricted day of month with a restricted weekday may still run (Feb 30 or any Monday)', () => {
  assert.ok(parseSchedule('0 0 30 2 mon').ok);
});

test.run();
