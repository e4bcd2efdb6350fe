import fc from 'fast-check';
import { DOMESTIC_CITIES, FOREIGN_CITIES, TimestampFormatter, distanceKm, formatLocalTimestamp, utcOffsetAt } from '../../../src/sim/geo';

const city = (name: string) => [...DOMESTIC_CITIES, ...FOREIGN_CITIES].find((c) => c.name === name)!;

describe('local timestamps', () => {
  it('formats the local time with its offset and parses back to the same instant', () => {
    const utc = Date.parse('2026-01-05T04:15:00Z');
    expect(formatLocalTimestamp(utc, 300)).toBe('2026-01-05T09:15:00+05:00');
    expect(formatLocalTimestamp(utc, -300)).toBe('2026-01-04T23:15:00-05:00');
    expect(formatLocalTimestamp(utc, 0)).toBe('2026-01-05T04:15:00+00:00');
    expect(Date.parse(formatLocalTimestamp(utc, 330))).toBe(utc);
  });

  it('TimestampFormatter agrees with formatLocalTimestamp across days and offsets', () => {
    const formatter = new TimestampFormatter();
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2024-01-01T00:00:00Z') / 1000, max: Date.parse('2030-01-01T00:00:00Z') / 1000 }),
        fc.constantFrom(-300, -240, 0, 60, 120, 180, 240, 300, 360, 420, 480, 540),
        (seconds, offset) => {
          expect(formatter.format(seconds * 1000, offset)).toBe(formatLocalTimestamp(seconds * 1000, offset));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('clocks', () => {
  it('keeps Kazakhstan at +05:00 all year', () => {
    expect(utcOffsetAt(city('Almaty'), Date.parse('2026-01-15T00:00:00Z'))).toBe(300);
    expect(utcOffsetAt(city('Almaty'), Date.parse('2026-07-15T00:00:00Z'))).toBe(300);
  });

  it('moves EU clocks at 01:00 UTC on the last Sundays of March and October', () => {
    const prague = city('Prague');
    expect(utcOffsetAt(prague, Date.parse('2026-03-29T00:59:59Z'))).toBe(60);
    expect(utcOffsetAt(prague, Date.parse('2026-03-29T01:00:00Z'))).toBe(120);
    expect(utcOffsetAt(prague, Date.parse('2026-10-25T00:59:59Z'))).toBe(120);
    expect(utcOffsetAt(prague, Date.parse('2026-10-25T01:00:00Z'))).toBe(60);
  });

  it('moves US Eastern clocks on the second Sunday of March and the first Sunday of November', () => {
    const eastern = { utcOffsetMinutes: -300, daylightSaving: 'us' as const };
    expect(utcOffsetAt(eastern, Date.parse('2026-03-08T06:59:59Z'))).toBe(-300);
    expect(utcOffsetAt(eastern, Date.parse('2026-03-08T07:00:00Z'))).toBe(-240);
    expect(utcOffsetAt(eastern, Date.parse('2026-11-01T05:59:59Z'))).toBe(-240);
    expect(utcOffsetAt(eastern, Date.parse('2026-11-01T06:00:00Z'))).toBe(-300);
  });
});

describe('distanceKm', () => {
  it('measures Almaty to Astana at about 970 km', () => {
    const d = distanceKm(city('Almaty'), city('Astana'));
    expect(d).toBeGreaterThan(940);
    expect(d).toBeLessThan(1000);
  });
});
