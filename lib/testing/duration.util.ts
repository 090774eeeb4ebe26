import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds, or a duration such as '25h', '30m', '2d', '10s', '1h30m', '500ms'. */
export type Duration = number | string;

export function durationMs(duration: Duration): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0) throw new DbosInvalidArgumentError(`A duration must be a finite number of ms >= 0 (got ${duration}).`);
    return duration;
  }
  const parts = [...duration.trim().matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration.replace(/\s+/g, '')) {
    throw new DbosInvalidArgumentError(`"${duration}" is not a duration: use ms, or a number with ms, s, m, h, d or w ('25h', '1h30m').`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNIT_MS[unit], 0);
}
