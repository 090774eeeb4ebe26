import { DbosConfigurationError } from '../../lib';
import { missedTicks, parseCron } from '../../lib/scheduler/cron.parser';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('parseCron', () => {
  it('reads six-field expressions (with seconds) in UTC by default', () => {
    const cron = parseCron('0 30 * * * *', {}, 'Reports.halfPast');
    expect(cron.nextRun(new Date('2026-03-01T10:15:00Z'))!.toISOString()).toBe('2026-03-01T10:30:00.000Z');
  });

  it('reads five-field expressions (minute first)', () => {
    const cron = parseCron('0 12 * * *', {}, 'Reports.noon');
    expect(cron.nextRun(new Date('2026-03-01T12:00:00Z'))!.toISOString()).toBe('2026-03-02T12:00:00.000Z');
  });

  it('reads the expression in the given time zone', () => {
    const cron = parseCron('0 0 9 * * *', { timezone: 'Europe/Paris' }, 'Reports.morning');
    // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(cron.nextRun(new Date('2026-01-15T00:00:00Z'))!.toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(cron.nextRun(new Date('2026-07-15T00:00:00Z'))!.toISOString()).toBe('2026-07-15T07:00:00.000Z');
  });

  it('refuses an invalid expression with a configuration error that names the workflow and quotes the expression', () => {
    const parse = () => parseCron('every hour', {}, 'Reports.hourly');
    expect(parse).toThrow(DbosConfigurationError);
    expect(parse).toThrow(/^Reports\.hourly: invalid cron expression "every hour": /);
  });

  it('refuses an overlap policy that is not one, naming the policies', () => {
    const parse = () => parseCron('* * * * *', { overlap: 'queue' as never }, 'Reports.hourly');
    expect(parse).toThrow(DbosConfigurationError);
    expect(parse).toThrow(/^Reports\.hourly: overlap "queue" is not a policy; use one of allow, skip, buffer-one, cancel-other\.$/);
    expect(() => parseCron('* * * * *', { overlap: 'buffer-one' }, 'Reports.hourly')).not.toThrow();
  });

  it('refuses an out-of-range field', () => {
    expect(() => parseCron('0 61 * * * *', {}, 'Reports.bad')).toThrow(DbosConfigurationError);
  });
});

describe('missedTicks (catch-up after a restart)', () => {
  const hourly = parseCron('0 0 * * * *', {}, 'Reports.hourly');

  it('answers the ticks after the last one recorded and up to now, oldest first', () => {
    const missed = missedTicks(hourly, new Date('2026-03-01T07:00:00Z'), new Date('2026-03-01T10:30:00Z'), 100);
    expect(iso(missed)).toEqual(['2026-03-01T08:00:00.000Z', '2026-03-01T09:00:00.000Z', '2026-03-01T10:00:00.000Z']);
  });

  it('counts a tick due exactly now as missed', () => {
    const missed = missedTicks(hourly, new Date('2026-03-01T09:00:00Z'), new Date('2026-03-01T10:00:00Z'), 100);
    expect(iso(missed)).toEqual(['2026-03-01T10:00:00.000Z']);
  });

  it('answers nothing when no tick fell due since the last one', () => {
    expect(missedTicks(hourly, new Date('2026-03-01T10:00:00Z'), new Date('2026-03-01T10:59:59Z'), 100)).toEqual([]);
  });

  it('answers at most `max` ticks, the oldest ones', () => {
    const missed = missedTicks(hourly, new Date('2026-03-01T00:00:00Z'), new Date('2026-03-03T00:00:00Z'), 3);
    expect(iso(missed)).toEqual(['2026-03-01T01:00:00.000Z', '2026-03-01T02:00:00.000Z', '2026-03-01T03:00:00.000Z']);
  });

  it('follows the expression, not a fixed interval (weekdays at 09:00 over a weekend)', () => {
    const weekdays = parseCron('0 0 9 * * 1-5', {}, 'Reports.weekday');
    // Friday 2026-03-06 10:00 to Tuesday 2026-03-10 10:00.
    const missed = missedTicks(weekdays, new Date('2026-03-06T10:00:00Z'), new Date('2026-03-10T10:00:00Z'), 100);
    expect(iso(missed)).toEqual(['2026-03-09T09:00:00.000Z', '2026-03-10T09:00:00.000Z']);
  });
});
