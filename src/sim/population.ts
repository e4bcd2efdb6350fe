/**
 * The simulated bank's world: customers with a home city, accounts and cards, spending profiles and favourite
 * merchants; merchants, terminals and ATMs in Kazakhstan's cities and abroad; e-commerce merchants without
 * coordinates. Built once from the seed; per-customer fields live in typed arrays so a million customers stay small.
 */
import { ATM_MCC, ATM_MEDIAN_WITHDRAWAL, BIG_PURCHASE_CATEGORIES, ECOM_CATEGORIES, POS_CATEGORIES, RISKY_ECOM_CATEGORIES, type MerchantCategory } from './catalog';
import { DOMESTIC_CITIES, ECOMMERCE_COUNTRIES, FOREIGN_CITIES, HOME_COUNTRY, type City } from './geo';
import { TEST_BINS, syntheticPan } from './pan';
import { Random, cumulative, hashString } from './random';

export type PlaceKind = 'pos' | 'atm' | 'ecom';

/** A merchant (with its terminals), an ATM, or an online merchant: anywhere a card can be used. */
export interface Place {
  index: number;
  kind: PlaceKind;
  merchantId: string;
  /** POS terminals of a merchant, or the one ATM; empty online. */
  terminalIds: readonly string[];
  category: MerchantCategory;
  /** Index into `Population.cities`; -1 online. */
  cityIndex: number;
  /** The city, or for online merchants the country and clock of the merchant. */
  location: City;
  latitude?: number;
  longitude?: number;
  popularity: number;
  /** Online merchants customers never pick themselves: only fraudsters use them. */
  risky: boolean;
}

/** A set of places to draw from by popularity (e.g. one category in one city). */
export interface Bucket {
  places: Int32Array;
  popularity: Float64Array;
}

export const MAX_FAVOURITES = 16;
export const MAX_ECOM_FAVOURITES = 5;

export interface Population {
  seed: number;
  /** Domestic cities first (indices 0..domesticCityCount-1), then foreign ones. */
  cities: readonly City[];
  domesticCityCount: number;
  places: readonly Place[];
  posCategories: readonly MerchantCategory[];
  ecomCategories: readonly MerchantCategory[];

  customerCount: number;
  homeCity: Uint8Array;
  accountId: readonly string[];
  firstCard: Int32Array;
  cardCount: Uint8Array;
  /** Mean transactions per day on an ordinary weekday. */
  dailyRate: Float32Array;
  /** Mean ATM withdrawals per day. */
  atmRate: Float32Array;
  /** Multiplies every category's median amount: how much this customer usually spends. */
  amountScale: Float32Array;
  ecomShare: Float32Array;
  contactlessShare: Float32Array;
  newMerchantShare: Float32Array;
  /** Hours this customer's day is shifted from the average rhythm (early birds negative, night owls positive). */
  hourShift: Int8Array;
  weekendFactor: Float32Array;
  /** Salary arrives on this day of the month and 15 days later. */
  payday: Uint8Array;
  /** Favourite merchants (place indices) and cumulative visit weights, MAX_FAVOURITES slots per customer. */
  favourites: Int32Array;
  favouriteWeights: Float64Array;
  favouriteCount: Uint8Array;
  ecomFavourites: Int32Array;
  ecomFavouriteWeights: Float64Array;
  ecomFavouriteCount: Uint8Array;
  /** Cumulative category preferences, posCategories.length (ecomCategories.length) slots per customer. */
  posPreference: Float64Array;
  ecomPreference: Float64Array;

  cardCountTotal: number;
  pan: readonly string[];
  /** Stable per-card reference that is not the PAN: the Kafka key. */
  cardRef: readonly string[];
  cardCustomer: Int32Array;
  /** Virtual cards are only used online. */
  cardVirtual: Uint8Array;
}

export interface PopulationIndex {
  /** POS merchants of one category in one city, if the city has any. */
  posBucket(cityIndex: number, category: MerchantCategory): Bucket | undefined;
  anyPosInCity(cityIndex: number): Bucket;
  atmsInCity(cityIndex: number): Bucket;
  ecom: Bucket;
  foreignEcom: Bucket;
  riskyEcom: Bucket;
  ecomByCategory(category: MerchantCategory): Bucket | undefined;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Local merchants sit within a few kilometres of the city centre. */
function jitter(rng: Random, city: City, km: number): { latitude: number; longitude: number } {
  const dLat = (rng.normal() * km) / 111;
  const dLon = (rng.normal() * km) / (111 * Math.cos((city.latitude * Math.PI) / 180));
  return { latitude: Math.round((city.latitude + dLat) * 1e5) / 1e5, longitude: Math.round((city.longitude + dLon) * 1e5) / 1e5 };
}

export function buildPopulation(seed: number, customerCount: number): Population {
  const rng = new Random(seed, 'population');
  const cities = [...DOMESTIC_CITIES, ...FOREIGN_CITIES];
  const domesticCityCount = DOMESTIC_CITIES.length;
  const places: Place[] = [];
  const addPlace = (place: Omit<Place, 'index'>): Place => {
    // Every place built with the same fields in the same order: one object shape keeps the hot path's property
    // reads monomorphic (a spread of differently shaped literals made them megamorphic and the run 2x slower).
    const full: Place = {
      index: places.length,
      kind: place.kind,
      merchantId: place.merchantId,
      terminalIds: place.terminalIds,
      category: place.category,
      cityIndex: place.cityIndex,
      location: place.location,
      latitude: place.latitude,
      longitude: place.longitude,
      popularity: place.popularity,
      risky: place.risky,
    };
    places.push(full);
    return full;
  };

  // ---- merchants and terminals in every city
  const shopCategories = [...POS_CATEGORIES, ...BIG_PURCHASE_CATEGORIES.filter((b) => !POS_CATEGORIES.some((p) => p.mcc === b.mcc))];
  const shopWeights = cumulative(shopCategories.map((c) => c.weight));
  const domesticWeight = DOMESTIC_CITIES.reduce((sum, c) => sum + c.weight, 0);
  const atmCategory: MerchantCategory = { mcc: ATM_MCC, name: 'ATM', medianAmount: ATM_MEDIAN_WITHDRAWAL, sigma: 0.8, weight: 1 };
  let merchantSerial = 0;
  let atmSerial = 0;
  cities.forEach((city, cityIndex) => {
    const domestic = cityIndex < domesticCityCount;
    const merchants = domestic ? Math.max(12, Math.round((customerCount * 0.15 * city.weight) / domesticWeight)) : 20 + Math.round(customerCount / 2000);
    for (let i = 0; i < merchants; i++) {
      const category = shopCategories[rng.weighted(shopWeights)];
      const merchantNumber = ++merchantSerial;
      const terminals = category.weight >= 8 ? rng.int(1, 4) : rng.int(1, 2);
      addPlace({
        kind: 'pos',
        merchantId: `m-${pad(merchantNumber, 6)}`,
        terminalIds: Array.from({ length: terminals }, (_, t) => `t-${pad(merchantNumber, 6)}-${t + 1}`),
        category,
        cityIndex,
        location: city,
        ...jitter(rng, city, domestic ? 4 : 3),
        popularity: rng.logNormal(1, 1),
        risky: false,
      });
    }
    const atms = domestic ? Math.max(2, Math.round((customerCount * city.weight) / domesticWeight / 150)) : 3 + Math.round(customerCount / 20000);
    for (let i = 0; i < atms; i++) {
      const atmNumber = ++atmSerial;
      addPlace({
        kind: 'atm',
        merchantId: domestic ? `atm-bank-${1 + (atmNumber % 4)}` : `atm-${city.country.toLowerCase()}-${1 + (atmNumber % 2)}`,
        terminalIds: [`atm-${pad(atmNumber, 6)}`],
        category: atmCategory,
        cityIndex,
        location: city,
        ...jitter(rng, city, 5),
        popularity: rng.logNormal(1, 0.6),
        risky: false,
      });
    }
  });

  // ---- online merchants: domestic, foreign, and the risky categories only fraudsters pick
  const home = DOMESTIC_CITIES[0];
  const onlineHome: City = { ...home, name: '(online)', latitude: 0, longitude: 0 };
  const ecomWeights = cumulative(ECOM_CATEGORIES.map((c) => c.weight));
  const foreignWeights = cumulative(ECOMMERCE_COUNTRIES.map((c) => c.weight));
  let ecomSerial = 0;
  const addOnline = (category: MerchantCategory, location: City, risky: boolean) =>
    addPlace({ kind: 'ecom', merchantId: `e-${pad(++ecomSerial, 5)}`, terminalIds: [], category, cityIndex: -1, location, popularity: rng.logNormal(1, 1.2), risky });
  for (let i = 0, n = Math.max(40, Math.round(customerCount / 150)); i < n; i++) addOnline(ECOM_CATEGORIES[rng.weighted(ecomWeights)], onlineHome, false);
  for (let i = 0, n = Math.max(30, Math.round(customerCount / 250)); i < n; i++) {
    addOnline(ECOM_CATEGORIES[rng.weighted(ecomWeights)], ECOMMERCE_COUNTRIES[rng.weighted(foreignWeights)], false);
  }
  for (const category of RISKY_ECOM_CATEGORIES) {
    for (let i = 0; i < 4; i++) addOnline(category, rng.chance(0.25) ? onlineHome : ECOMMERCE_COUNTRIES[rng.weighted(foreignWeights)], true);
  }

  const index = buildIndex(places, cities.length);

  // ---- customers, accounts, cards
  const posCategories = POS_CATEGORIES;
  const ecomCategories = ECOM_CATEGORIES;
  const cityWeights = cumulative(DOMESTIC_CITIES.map((c) => c.weight));
  const homeCity = new Uint8Array(customerCount);
  const accountId: string[] = new Array(customerCount);
  const firstCard = new Int32Array(customerCount);
  const cardCount = new Uint8Array(customerCount);
  const dailyRate = new Float32Array(customerCount);
  const atmRate = new Float32Array(customerCount);
  const amountScale = new Float32Array(customerCount);
  const ecomShare = new Float32Array(customerCount);
  const contactlessShare = new Float32Array(customerCount);
  const newMerchantShare = new Float32Array(customerCount);
  const hourShift = new Int8Array(customerCount);
  const weekendFactor = new Float32Array(customerCount);
  const payday = new Uint8Array(customerCount);
  const favourites = new Int32Array(customerCount * MAX_FAVOURITES);
  const favouriteWeights = new Float64Array(customerCount * MAX_FAVOURITES);
  const favouriteCount = new Uint8Array(customerCount);
  const ecomFavourites = new Int32Array(customerCount * MAX_ECOM_FAVOURITES);
  const ecomFavouriteWeights = new Float64Array(customerCount * MAX_ECOM_FAVOURITES);
  const ecomFavouriteCount = new Uint8Array(customerCount);
  const posPreference = new Float64Array(customerCount * posCategories.length);
  const ecomPreference = new Float64Array(customerCount * ecomCategories.length);
  const pan: string[] = [];
  const cardRef: string[] = [];
  const cardCustomerList: number[] = [];
  const cardVirtualList: number[] = [];
  const panScramble = hashString(`pan-${seed}`) % 1_000_000_000;
  const refWidth = Math.max(6, String(customerCount * 3).length);

  for (let c = 0; c < customerCount; c++) {
    homeCity[c] = rng.weighted(cityWeights);
    accountId[c] = `acct-${pad(c + 1, refWidth)}`;
    dailyRate[c] = Math.min(12, rng.logNormal(1.3, 0.6));
    atmRate[c] = rng.chance(0.35) ? rng.uniform(0.05, 0.4) : rng.uniform(0, 0.05);
    amountScale[c] = Math.min(6, rng.logNormal(1, 0.4));
    ecomShare[c] = Math.min(0.7, rng.logNormal(0.15, 0.6));
    contactlessShare[c] = rng.uniform(0.5, 0.97);
    newMerchantShare[c] = rng.uniform(0.05, 0.25);
    hourShift[c] = rng.int(-1, 2);
    weekendFactor[c] = rng.uniform(0.7, 1.5);
    payday[c] = rng.int(1, 13);

    // Tastes: each category's average weight, scaled up or down for this customer.
    let sum = 0;
    for (let j = 0; j < posCategories.length; j++) posPreference[c * posCategories.length + j] = sum += posCategories[j].weight * rng.logNormal(1, 0.7);
    sum = 0;
    for (let j = 0; j < ecomCategories.length; j++) ecomPreference[c * ecomCategories.length + j] = sum += ecomCategories[j].weight * rng.logNormal(1, 0.9);

    // Favourite local shops, chosen by the customer's tastes and the shops' popularity; visits follow a Zipf law.
    const favouriteTotal = rng.int(6, MAX_FAVOURITES);
    let weightSum = 0;
    for (let k = 0; k < favouriteTotal; k++) {
      const category = posCategories[rng.weighted(posPreference, c * posCategories.length, (c + 1) * posCategories.length)];
      const bucket = index.posBucket(homeCity[c], category) ?? index.anyPosInCity(homeCity[c]);
      favourites[c * MAX_FAVOURITES + k] = bucket.places[rng.weighted(bucket.popularity)];
      weightSum += 1 / (k + 1) ** 0.8;
      favouriteWeights[c * MAX_FAVOURITES + k] = weightSum;
    }
    favouriteCount[c] = favouriteTotal;
    const ecomTotal = rng.int(1, MAX_ECOM_FAVOURITES);
    weightSum = 0;
    for (let k = 0; k < ecomTotal; k++) {
      const category = ecomCategories[rng.weighted(ecomPreference, c * ecomCategories.length, (c + 1) * ecomCategories.length)];
      const bucket = index.ecomByCategory(category) ?? index.ecom;
      ecomFavourites[c * MAX_ECOM_FAVOURITES + k] = bucket.places[rng.weighted(bucket.popularity)];
      weightSum += 1 / (k + 1);
      ecomFavouriteWeights[c * MAX_ECOM_FAVOURITES + k] = weightSum;
    }
    ecomFavouriteCount[c] = ecomTotal;

    // One account, one to three cards: a main debit card, maybe a credit card, maybe a virtual card for online use.
    firstCard[c] = pan.length;
    const cards = rng.chance(0.55) ? 1 : rng.chance(0.7) ? 2 : 3;
    cardCount[c] = cards;
    for (let k = 0; k < cards; k++) {
      const cardIndex = pan.length;
      pan.push(syntheticPan(TEST_BINS[k === 0 ? 0 : rng.int(0, TEST_BINS.length - 1)], cardIndex, panScramble));
      cardRef.push(`card-${pad(cardIndex + 1, refWidth)}`);
      cardCustomerList.push(c);
      cardVirtualList.push(k === 2 || (k === 1 && rng.chance(0.3)) ? 1 : 0);
    }
  }

  return {
    seed,
    cities,
    domesticCityCount,
    places,
    posCategories,
    ecomCategories,
    customerCount,
    homeCity,
    accountId,
    firstCard,
    cardCount,
    dailyRate,
    atmRate,
    amountScale,
    ecomShare,
    contactlessShare,
    newMerchantShare,
    hourShift,
    weekendFactor,
    payday,
    favourites,
    favouriteWeights,
    favouriteCount,
    ecomFavourites,
    ecomFavouriteWeights,
    ecomFavouriteCount,
    posPreference,
    ecomPreference,
    cardCountTotal: pan.length,
    pan,
    cardRef,
    cardCustomer: Int32Array.from(cardCustomerList),
    cardVirtual: Uint8Array.from(cardVirtualList),
  };
}

function bucketOf(places: readonly Place[], indices: number[]): Bucket {
  return { places: Int32Array.from(indices), popularity: cumulative(indices.map((i) => places[i].popularity)) };
}

export function buildIndex(places: readonly Place[], cityCount: number): PopulationIndex {
  const byCityCategory = new Map<string, number[]>();
  const byCity: number[][] = Array.from({ length: cityCount }, () => []);
  const atmByCity: number[][] = Array.from({ length: cityCount }, () => []);
  const ecom: number[] = [];
  const foreignEcom: number[] = [];
  const riskyEcom: number[] = [];
  const ecomByCategory = new Map<string, number[]>();
  for (const place of places) {
    if (place.kind === 'pos') {
      byCity[place.cityIndex].push(place.index);
      const key = `${place.cityIndex}:${place.category.mcc}`;
      const list = byCityCategory.get(key) ?? [];
      list.push(place.index);
      byCityCategory.set(key, list);
    } else if (place.kind === 'atm') atmByCity[place.cityIndex].push(place.index);
    else if (place.risky) riskyEcom.push(place.index);
    else {
      ecom.push(place.index);
      if (place.location.country !== HOME_COUNTRY) foreignEcom.push(place.index);
      const list = ecomByCategory.get(place.category.mcc) ?? [];
      list.push(place.index);
      ecomByCategory.set(place.category.mcc, list);
    }
  }
  // One map per city keyed by MCC: no key strings are built per lookup on the hot path.
  const posBuckets = Array.from({ length: cityCount }, () => new Map<string, Bucket>());
  for (const [key, list] of byCityCategory) {
    const [city, mcc] = key.split(':');
    posBuckets[Number(city)].set(mcc, bucketOf(places, list));
  }
  const cityBuckets = byCity.map((list) => bucketOf(places, list));
  const atmBuckets = atmByCity.map((list) => bucketOf(places, list));
  const ecomBuckets = new Map([...ecomByCategory].map(([mcc, list]) => [mcc, bucketOf(places, list)]));
  return {
    posBucket: (cityIndex, category) => posBuckets[cityIndex].get(category.mcc),
    anyPosInCity: (cityIndex) => cityBuckets[cityIndex],
    atmsInCity: (cityIndex) => atmBuckets[cityIndex],
    ecom: bucketOf(places, ecom),
    foreignEcom: bucketOf(places, foreignEcom),
    riskyEcom: bucketOf(places, riskyEcom),
    ecomByCategory: (category) => ecomBuckets.get(category.mcc),
  };
}
