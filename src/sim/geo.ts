/**
 * Places and clocks: the cities the population lives in and travels to, their UTC offsets, and the local-time
 * timestamps the v1 contract carries (`2026-01-05T09:15:00+05:00`).
 */

/** How a country moves its clocks: Kazakhstan, Turkey, the Gulf and East Asia do not; the EU and the US do. */
export type DaylightSaving = 'none' | 'eu' | 'us';

export interface City {
  name: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  latitude: number;
  longitude: number;
  /** Standard-time offset from UTC, minutes. */
  utcOffsetMinutes: number;
  daylightSaving: DaylightSaving;
  /** Relative size: where customers live (domestic) or how often travellers go there (foreign). */
  weight: number;
}

const KZ_OFFSET = 5 * 60; // all of Kazakhstan since 1 March 2024

const city = (name: string, country: string, latitude: number, longitude: number, offsetHours: number, weight: number, daylightSaving: DaylightSaving = 'none'): City => ({
  name,
  country,
  latitude,
  longitude,
  utcOffsetMinutes: offsetHours * 60,
  daylightSaving,
  weight,
});

/** Kazakhstan's larger cities, weighted by population (thousands, approximate). */
export const DOMESTIC_CITIES: readonly City[] = [
  city('Almaty', 'KZ', 43.2389, 76.8897, KZ_OFFSET / 60, 2230),
  city('Astana', 'KZ', 51.1605, 71.4704, KZ_OFFSET / 60, 1420),
  city('Shymkent', 'KZ', 42.3417, 69.5901, KZ_OFFSET / 60, 1220),
  city('Karaganda', 'KZ', 49.8047, 73.1094, KZ_OFFSET / 60, 500),
  city('Aktobe', 'KZ', 50.2839, 57.167, KZ_OFFSET / 60, 580),
  city('Taraz', 'KZ', 42.9, 71.3667, KZ_OFFSET / 60, 430),
  city('Pavlodar', 'KZ', 52.2873, 76.9674, KZ_OFFSET / 60, 340),
  city('Oskemen', 'KZ', 49.9483, 82.6275, KZ_OFFSET / 60, 330),
  city('Semey', 'KZ', 50.4111, 80.2275, KZ_OFFSET / 60, 320),
  city('Atyrau', 'KZ', 47.1164, 51.8833, KZ_OFFSET / 60, 300),
  city('Kostanay', 'KZ', 53.2144, 63.6246, KZ_OFFSET / 60, 250),
  city('Kyzylorda', 'KZ', 44.8528, 65.5092, KZ_OFFSET / 60, 250),
  city('Oral', 'KZ', 51.2333, 51.3667, KZ_OFFSET / 60, 240),
  city('Petropavl', 'KZ', 54.8753, 69.1628, KZ_OFFSET / 60, 220),
  city('Aktau', 'KZ', 43.65, 51.1667, KZ_OFFSET / 60, 190),
  city('Turkistan', 'KZ', 43.2973, 68.2517, KZ_OFFSET / 60, 190),
  city('Taldykorgan', 'KZ', 45.0156, 78.3739, KZ_OFFSET / 60, 150),
];

/** Where Kazakhstani cardholders travel (weights: how often), and where stolen card data is cashed out. */
export const FOREIGN_CITIES: readonly City[] = [
  city('Istanbul', 'TR', 41.0082, 28.9784, 3, 30),
  city('Antalya', 'TR', 36.8969, 30.7133, 3, 25),
  city('Dubai', 'AE', 25.2048, 55.2708, 4, 25),
  city('Moscow', 'RU', 55.7558, 37.6173, 3, 20),
  city('Bishkek', 'KG', 42.8746, 74.5698, 6, 20),
  city('Tashkent', 'UZ', 41.2995, 69.2401, 5, 15),
  city('Tbilisi', 'GE', 41.7151, 44.8271, 4, 10),
  city('Beijing', 'CN', 39.9042, 116.4074, 8, 8),
  city('Bangkok', 'TH', 13.7563, 100.5018, 7, 10),
  city('Seoul', 'KR', 37.5665, 126.978, 9, 6),
  city('Prague', 'CZ', 50.0755, 14.4378, 1, 4, 'eu'),
];

/** Countries of foreign e-commerce merchants (no coordinates), with the clock their timestamps use. */
export const ECOMMERCE_COUNTRIES: readonly City[] = [
  city('(online)', 'CN', 0, 0, 8, 30),
  city('(online)', 'US', 0, 0, -5, 25, 'us'),
  city('(online)', 'TR', 0, 0, 3, 15),
  city('(online)', 'NL', 0, 0, 1, 10, 'eu'),
  city('(online)', 'GB', 0, 0, 0, 10, 'eu'),
  city('(online)', 'SG', 0, 0, 8, 10),
];

export const HOME_COUNTRY = 'KZ';
export const HOME_OFFSET_MINUTES = KZ_OFFSET;

const HOUR_MS = 3_600_000;

/** 01:00 UTC on the last Sunday of a month: when the EU changes its clocks. */
function lastSundayAtOneUtc(year: number, month: number): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  return Date.UTC(year, month, lastDay.getUTCDate() - lastDay.getUTCDay(), 1);
}

/** The n-th Sunday of a month at 02:00 local standard time, as UTC ms, for a zone `standardOffsetMinutes` from UTC. */
function nthSundayAtTwoLocal(year: number, month: number, n: number, standardOffsetMinutes: number): number {
  const firstWeekday = new Date(Date.UTC(year, month, 1)).getUTCDay();
  const day = 1 + ((7 - firstWeekday) % 7) + (n - 1) * 7;
  return Date.UTC(year, month, day, 2) - standardOffsetMinutes * 60_000;
}

/** The UTC offset in force at `utcMs` in a city's zone, minutes. */
export function utcOffsetAt(place: Pick<City, 'utcOffsetMinutes' | 'daylightSaving'>, utcMs: number): number {
  if (place.daylightSaving === 'none') return place.utcOffsetMinutes;
  const year = new Date(utcMs).getUTCFullYear();
  const summer =
    place.daylightSaving === 'eu'
      ? utcMs >= lastSundayAtOneUtc(year, 2) && utcMs < lastSundayAtOneUtc(year, 9)
      : // US: second Sunday of March to first Sunday of November, both at 02:00 local time.
        // (02:00 daylight time in November is 01:00 standard time, hence the hour less).
        utcMs >= nthSundayAtTwoLocal(year, 2, 2, place.utcOffsetMinutes) && utcMs < nthSundayAtTwoLocal(year, 10, 1, place.utcOffsetMinutes) - HOUR_MS;
  return place.utcOffsetMinutes + (summer ? 60 : 0);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function offsetSuffix(offsetMinutes: number): string {
  const abs = Math.abs(offsetMinutes);
  return `${offsetMinutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** ISO-8601 local time with its offset, to the second: `2026-01-05T09:15:00+05:00` for 04:15 UTC in Kazakhstan. */
export function formatLocalTimestamp(utcMs: number, offsetMinutes: number): string {
  return new Date(utcMs + offsetMinutes * 60_000).toISOString().slice(0, 19) + offsetSuffix(offsetMinutes);
}

const EARTH_RADIUS_KM = 6371;

export function distanceKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const toRad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * toRad;
  const dLon = (b.longitude - a.longitude) * toRad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * toRad) * Math.cos(b.latitude * toRad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * `formatLocalTimestamp` for a stream of times: the date part and the offset suffix are formatted once per local
 * day and offset, the time of day from a table (a Date and an ISO string per message cost more than the rest).
 */
export class TimestampFormatter {
  private readonly days = new Map<number, { day: number; prefix: string; suffix: string }>();
  private readonly twoDigits = Array.from({ length: 60 }, (_, i) => pad2(i));

  format(utcMs: number, offsetMinutes: number): string {
    const localMs = utcMs + offsetMinutes * 60_000;
    const day = Math.floor(localMs / 86_400_000);
    let cached = this.days.get(offsetMinutes);
    if (cached === undefined || cached.day !== day) {
      cached = { day, prefix: new Date(day * 86_400_000).toISOString().slice(0, 11), suffix: offsetSuffix(offsetMinutes) };
      this.days.set(offsetMinutes, cached);
    }
    const seconds = Math.floor((localMs - day * 86_400_000) / 1000);
    const t = this.twoDigits;
    return `${cached.prefix}${t[Math.floor(seconds / 3600)]}:${t[Math.floor(seconds / 60) % 60]}:${t[seconds % 60]}${cached.suffix}`;
  }
}
