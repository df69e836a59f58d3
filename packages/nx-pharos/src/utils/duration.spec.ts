import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration';

describe('durations', () => {
  it('reads hours, minutes and seconds, alone or together', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('4h')).toBe(4 * 3_600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2m5s')).toBe(125_000);
    expect(parseDuration(' 2s ')).toBe(2000);
  });

  it('refuses what is not a positive duration', () => {
    for (const bad of ['', '90', '10 minutes', '1.5h', '-5s', '0s', '0h0m', 'm', '5s1m', '1d']) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it('writes a duration back the way a person would', () => {
    expect(formatDuration(2000)).toBe('2s');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(600_000)).toBe('10m');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(4 * 3_600_000)).toBe('4h');
    expect(formatDuration(125_000)).toBe('2m5s');
    expect(formatDuration(250)).toBe('250ms');
    for (const text of ['2s', '90s', '10m', '1h30m', '4h', '2m5s']) expect(formatDuration(parseDuration(text)!)).toBe(text);
  });
});
