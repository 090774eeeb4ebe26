import {
  flag,
  listOption,
  optionalInteger,
  optionalMoment,
  parseChoice,
  parseDuration,
  parseInteger,
  parseMoment,
  parseStatus,
  requiredStringOption,
  stringOption,
} from '../../lib/cli/cli.arguments';
import { ExitCode, UsageError, type CommandContext, type OptionValue } from '../../lib/cli/command.interface';

const NOW = new Date('2026-03-10T12:00:00Z');

/** The parsed options of a command line, as the runner hands them to a command. */
function context(options: Record<string, OptionValue>): CommandContext {
  return {
    options,
    args: [],
    now: NOW,
    out: { print: () => undefined, warn: () => undefined },
    connection: () => {
      throw new Error('no database in these tests');
    },
    client: () => Promise.reject(new Error('no database in these tests')),
  };
}

/** The UsageError `fn` throws (exit code 2). */
function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(ExitCode.Usage);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('CLI arguments', () => {
  describe('parseDuration', () => {
    it.each([
      ['250ms', 250],
      ['30s', 30_000],
      ['30m', 1_800_000],
      ['2h', 7_200_000],
      ['7d', 604_800_000],
      ['1w', 604_800_000],
      ['1.5h', 5_400_000],
      [' 10m ', 600_000],
    ])('reads %s as %i ms', (text, ms) => {
      expect(parseDuration(text, 'older-than')).toBe(ms);
    });

    it.each(['30', 'm', '2 h', '-5m', '3y', 'soon'])('refuses "%s", naming the option and the units', (text) => {
      expect(usageErrorOf(() => parseDuration(text, 'older-than')).message).toBe(
        `--older-than "${text}" is not a duration: use a number and a unit (ms, s, m, h, d, w), e.g. 30m, 2h or 7d.`,
      );
    });
  });

  describe('parseMoment', () => {
    it.each([
      ['2026-01-31', '2026-01-31T00:00:00.000Z'],
      ['2026-01-31T12:00:00Z', '2026-01-31T12:00:00.000Z'],
      ['2026-01-31T12:00:00+02:00', '2026-01-31T10:00:00.000Z'],
    ])('reads the ISO date %s', (text, expected) => {
      expect(parseMoment(text, 'since', NOW).toISOString()).toBe(expected);
    });

    it('reads a duration as that long before now', () => {
      expect(parseMoment('2h', 'since', NOW).toISOString()).toBe('2026-03-10T10:00:00.000Z');
      expect(parseMoment('7d', 'since', NOW).toISOString()).toBe('2026-03-03T12:00:00.000Z');
    });

    it.each(['yesterday', '2026-13-45', '31/01/2026'])('refuses "%s" with both accepted forms in the message', (text) => {
      expect(usageErrorOf(() => parseMoment(text, 'since', NOW)).message).toBe(
        `--since "${text}" is neither an ISO date (2026-01-31, 2026-01-31T12:00:00Z) nor a time ago (30m, 2h, 7d).`,
      );
    });
  });

  describe('parseInteger', () => {
    it('reads a whole number at least the minimum', () => {
      expect(parseInteger('0', 'offset', 0)).toBe(0);
      expect(parseInteger('25', 'limit', 1)).toBe(25);
    });

    it.each(['0', '-1', '1.5', '1e3', 'ten', '', '99999999999999999999'])('refuses "%s" for a minimum of 1', (text) => {
      expect(usageErrorOf(() => parseInteger(text, 'limit', 1)).message).toBe(`--limit "${text}" must be a whole number of at least 1.`);
    });
  });

  describe('parseStatus', () => {
    it('reads a status in any case', () => {
      expect(parseStatus('success')).toBe('SUCCESS');
      expect(parseStatus('Pending')).toBe('PENDING');
    });

    it('refuses an unknown status, listing the known ones', () => {
      const message = usageErrorOf(() => parseStatus('done')).message;
      expect(message).toMatch(/^Unknown status "done": use one of /);
      expect(message).toContain('SUCCESS');
      expect(message).toContain('ERROR');
    });
  });

  describe('parseChoice', () => {
    it('reads a choice in any case', () => {
      expect(parseChoice('JSON', 'format', ['table', 'json'] as const)).toBe('json');
    });

    it('refuses anything else, listing the choices', () => {
      expect(usageErrorOf(() => parseChoice('yaml', 'format', ['table', 'json'] as const)).message).toBe('--format must be one of table, json, not "yaml".');
    });
  });

  describe('options of a parsed command line', () => {
    it('listOption reads a repeated option and comma-separated lists, trimmed, without empty items', () => {
      expect(listOption(context({ status: ['error, pending', 'success', ' , '] }), 'status')).toEqual(['error', 'pending', 'success']);
      expect(listOption(context({ status: 'error' }), 'status')).toEqual(['error']);
      expect(listOption(context({}), 'status')).toEqual([]);
    });

    it('stringOption answers a string value only; requiredStringOption says which option is missing', () => {
      expect(stringOption(context({ schema: 'billing' }), 'schema')).toBe('billing');
      expect(stringOption(context({ json: true }), 'json')).toBeUndefined();
      expect(requiredStringOption(context({ name: 'Checkout.run' }), 'name')).toBe('Checkout.run');
      expect(usageErrorOf(() => requiredStringOption(context({}), 'name')).message).toBe('Option --name is required.');
    });

    it('flag is true only when the flag was given', () => {
      expect(flag(context({ json: true }), 'json')).toBe(true);
      expect(flag(context({}), 'json')).toBe(false);
      expect(flag(context({ json: 'yes' }), 'json')).toBe(false);
    });

    it('optionalInteger and optionalMoment answer undefined when the option is absent, and parse it when given', () => {
      expect(optionalInteger(context({}), 'limit', 1)).toBeUndefined();
      expect(optionalInteger(context({ limit: '10' }), 'limit', 1)).toBe(10);
      expect(optionalMoment(context({}), 'since')).toBeUndefined();
      expect(optionalMoment(context({ since: '30m' }), 'since')!.toISOString()).toBe('2026-03-10T11:30:00.000Z');
    });
  });
});
