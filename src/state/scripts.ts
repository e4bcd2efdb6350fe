/**
 * The one loader of the state scripts (after BullMQ's src/commands): reads each `lua/<name>-<keys>.lua`, resolves its
 * `--- @include "helper"` lines from `lua/includes/`, prefixes a prelude generated from layout.ts and codes.ts (so
 * layouts and return codes exist once, in TypeScript), and registers it with `defineCommand` under a name that
 * carries a hash of the final text: two deployed versions never run each other's scripts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { LABEL_CODE, NO_LABEL, ReturnCode } from './codes';
import { CARD_EVENT_BYTES, CARD_EVENT_FLAGS, CARD_EVENT_FORMAT, ENTITY_EVENT_BYTES, ENTITY_EVENT_FORMAT } from './entity-events';
import { COUNTER_MAX, DAY_MS, HOUR_MS, LAYOUTS, MINUTE_MS, NO_TIME, PRUNE_PERIOD_MS, type LaneName, type Layout } from './layout';

/**
 * An entity's seen set holds transaction ids scored SEEN_OFFSET_MS + event time and cards scored by their latest
 * sighting: every event time is far within ±1e15 ms (NO_TIME is -1e15), so the two score ranges never meet and
 * each is pruned with its own range; all scores stay integers well below 2^53, exact in a double.
 */
export const SEEN_OFFSET_MS = 4e15;

export const SCRIPT_FILES = {
  recordCardLabel: 'recordCardLabel-2',
  recordAcceptorLabel: 'recordAcceptorLabel-2',
  updateBatch: 'updateBatch-n',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

/** The registered command name of each script on a client. */
export type CommandNames = Readonly<Record<ScriptName, string>>;

/** Beside this module: src/state/lua in development, dist/src/state/lua after `npm run build` (copy-assets.js). */
function luaDirectory(): string {
  return join(__dirname, 'lua');
}

function luaValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : JSON.stringify(value);
  if (typeof value === 'string') return `'${value.replace(/[\\']/g, '\\$&')}'`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{ ${value.map(luaValue).join(', ')} }`;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k} = ${luaValue(v)}`);
  return `{ ${entries.join(', ')} }`;
}

/**
 * The Lua view of a layout: sizes, the header's struct format, and per tier its geometry, slot format and the 1-based
 * position of each lane in a slot (`laneOf.count`; nil when the tier lacks the lane). Every counter lane of a layout
 * has one width (`counterMax`); amounts are doubles: the scripts clamp by lane, not by type.
 */
function luaLayout(layout: Layout) {
  const counterTypes = new Set(layout.tiers.flatMap((tier) => tier.laneTypes.filter((type) => type !== 'f64')));
  if (counterTypes.size !== 1) throw new Error(`layout ${layout.name}: the scripts expect one counter width, found ${[...counterTypes].join(', ')}`);
  const counterMax = COUNTER_MAX[[...counterTypes][0]];
  if (counterMax === undefined) throw new Error(`layout ${layout.name}: counters must be integers`);
  for (const tier of layout.tiers) {
    // Lane positions the Lua code relies on: the count first (slotEdits.lua advanceTier: every event writes its
    // slot), the amount second and its square third, the distinct cards second; updateEntityAt.lua writes back the
    // first three lanes of an entity's slot, so an entity tier has no more.
    const at = (lane: LaneName) => tier.lanes.indexOf(lane) + 1;
    const positions = at('count') === 1 && [0, 2].includes(at('amount')) && [0, 3].includes(at('sumsq')) && [0, 2].includes(at('cards'));
    if (!positions || (layout.name !== 'card' && tier.lanes.length > 3)) {
      throw new Error(`layout ${layout.name} tier ${tier.name}: lanes ${tier.lanes.join(',')} are not where the scripts expect them (src/state/scripts.ts)`);
    }
    tier.lanes.forEach((lane, i) => {
      if ((tier.laneTypes[i] === 'f64') !== (lane === 'amount' || lane === 'sumsq')) {
        throw new Error(`layout ${layout.name}: the scripts expect doubles exactly in the amount and sumsq lanes (tier ${tier.name})`);
      }
    });
  }
  return {
    name: layout.name,
    version: layout.version,
    size: layout.size,
    headerFormat: layout.headerFormat,
    hasPrev: layout.header.includes('prev'),
    cardsHorizonMs: layout.cardsHorizonMs,
    counterMax,
    tiers: layout.tiers.map((tier) => ({
      widthMs: tier.widthMs,
      slots: tier.slots,
      offset: tier.offset,
      slotSize: tier.slotSize,
      slotFormat: tier.structFormat,
      laneCount: tier.lanes.length,
      laneOf: Object.fromEntries(tier.lanes.map((lane, i) => [lane, i + 1])),
      // Lanes the entity script tests for (false: not in this tier): a field costs less than a laneOf lookup.
      amountLane: tier.lanes.indexOf('amount') + 1 || false,
      sumsqLane: tier.lanes.indexOf('sumsq') + 1 || false,
      cardsLane: tier.lanes.indexOf('cards') + 1 || false,
    })),
    tierOf: Object.fromEntries(layout.tiers.map((tier, i) => [tier.name, i + 1])),
  };
}

/**
 * Constants, and `layoutNamed(name)`: a script runs its prelude on every call, so a layout's tables are built only
 * when asked for (building all of them cost more than the rest of a typical call), with each ring's and slot's
 * zeros as strings. ZEROS is a literal: Redis compiles a script once, so it costs nothing per call. Number-to-string
 * conversions are cached per call (`offsetString`, `timeString`): Lua's costs ~0.2-0.4 us, a table hit ~0.02 us.
 */
function prelude(): string {
  const codes = Object.fromEntries(Object.entries(ReturnCode).filter(([, value]) => typeof value === 'number'));
  const branches = Object.values(LAYOUTS).map((layout) => `  if name == '${layout.name}' then cached = ${luaValue(luaLayout(layout))} end`);
  const zeros = Math.max(...Object.values(LAYOUTS).map((layout) => layout.size));
  return [
    `local ZEROS = '${'\\0'.repeat(zeros)}'`,
    '-- generated from src/state/codes.ts and src/state/layout.ts by src/state/scripts.ts',
    `local CODES = ${luaValue(codes)}`,
    `local LABEL = ${luaValue(LABEL_CODE)}`,
    `local NO_LABEL = ${NO_LABEL}`,
    `local CARD_EVENT_FORMAT = ${luaValue(CARD_EVENT_FORMAT)}`,
    `local CARD_EVENT_FLAGS = ${luaValue(CARD_EVENT_FLAGS)}`,
    `local CARD_EVENT_BYTES = ${CARD_EVENT_BYTES}`,
    `local ENTITY_EVENT_FORMAT = ${luaValue(ENTITY_EVENT_FORMAT)}`,
    `local ENTITY_EVENT_BYTES = ${ENTITY_EVENT_BYTES}`,
    `local NO_TIME = ${luaValue(NO_TIME)}`,
    `local SEEN_OFFSET = ${SEEN_OFFSET_MS}`,
    `local ENTITY_PRUNE_MS = ${HOUR_MS}`,
    `local SEEN_FLOOR = '${SEEN_OFFSET_MS - 2e15}'`,
    `local MINUTE_MS = ${MINUTE_MS}`,
    `local DAY_MS = ${DAY_MS}`,
    `local PRUNE_PERIOD_MS = ${PRUNE_PERIOD_MS}`,
    '-- Built once per call when first asked for: a batch call opens many entities of the same layout.',
    'local LAYOUT_CACHE = {}',
    'local function layoutNamed(name)',
    '  local cached = LAYOUT_CACHE[name]',
    '  if cached then return cached end',
    ...branches,
    "  if not cached then error('unknown layout ' .. tostring(name)) end",
    '  for _, tier in ipairs(cached.tiers) do',
    '    tier.zeroSlot = string.sub(ZEROS, 1, tier.slotSize)',
    '    tier.zeroRing = string.sub(ZEROS, 1, tier.slots * tier.slotSize)',
    '  end',
    '  cached.zeros = string.sub(ZEROS, 1, cached.size)',
    '  LAYOUT_CACHE[name] = cached',
    '  return cached',
    'end',
    'local OFFSET_STRINGS = {}',
    'local function offsetString(offset)',
    '  local s = OFFSET_STRINGS[offset]',
    '  if not s then',
    "    s = string.format('%d', offset)",
    '    OFFSET_STRINGS[offset] = s',
    '  end',
    '  return s',
    'end',
    '-- Exact (17 digits), as Redis itself prints a number argument; the entities of one transaction share its time.',
    'local TIME_STRINGS = {}',
    'local function timeString(timeMs)',
    '  local s = TIME_STRINGS[timeMs]',
    '  if not s then',
    "    s = string.format('%.17g', timeMs)",
    '    TIME_STRINGS[timeMs] = s',
    '  end',
    '  return s',
    'end',
    '',
  ].join('\n');
}

/**
 * `--- @expects <layout> <what> <a,b,...>` in a Lua file: the header fields (`header`), tiers (`tiers`) or a tier's
 * lanes (`<tier>`) that code written for one layout relies on. Checked against layout.ts when the scripts are
 * assembled, so a layout change cannot silently run code written for the old one.
 */
const EXPECTS = /^--- @expects (\w+) (\w+) ([\w,]+)\s*$/gm;

function checkExpectations(source: string, file: string): void {
  for (const [, name, what, list] of source.matchAll(EXPECTS)) {
    const layout = (LAYOUTS as Record<string, Layout | undefined>)[name];
    if (layout === undefined) throw new Error(`${file}: @expects names unknown layout ${name}`);
    const actual =
      what === 'header' ? layout.header : what === 'tiers' ? layout.tiers.map((tier) => tier.name) : layout.tiers.find((tier) => tier.name === what)?.lanes;
    if (actual === undefined || actual.join(',') !== list) {
      throw new Error(`${file} was written for layout ${name} ${what} = ${list}, but layout.ts has ${actual?.join(',') ?? 'none'}: update the script`);
    }
  }
}

const INCLUDE = /^--- @include "([A-Za-z0-9_]+)"\s*$/gm;

function resolveIncludes(source: string, directory: string, included: Set<string>): string {
  return source.replace(INCLUDE, (_line, helper: string) => {
    if (included.has(helper)) return '';
    included.add(helper);
    const text = readFileSync(join(directory, 'includes', `${helper}.lua`), 'utf8');
    checkExpectations(text, `${helper}.lua`);
    return resolveIncludes(text, directory, included);
  });
}

export interface AssembledScript {
  name: ScriptName;
  /** Undefined for a script taking a variable number of keys (file name ending in `-n`). */
  numberOfKeys: number | undefined;
  lua: string;
  /** The versioned command name: `cs_<script>_<first 10 hex of sha1(lua)>`. */
  command: string;
}

export function assembleScripts(): AssembledScript[] {
  const directory = luaDirectory();
  const head = prelude();
  return (Object.entries(SCRIPT_FILES) as Array<[ScriptName, string]>).map(([name, file]) => {
    // '-n': a variable number of keys, passed as the first argument of each call.
    const count = /-(\d+|n)$/.exec(file)?.[1];
    const numberOfKeys = count === 'n' ? undefined : Number(count);
    const source = readFileSync(join(directory, `${file}.lua`), 'utf8');
    checkExpectations(source, `${file}.lua`);
    const body = resolveIncludes(source, directory, new Set());
    const lua = head + body;
    const version = createHash('sha1').update(lua).digest('hex').slice(0, 10);
    return { name, numberOfKeys, lua, command: `cs_${name}_${version}` };
  });
}

/** Registers the scripts on a client (once per client) and returns their command names. */
export function defineStateCommands(redis: Redis | Cluster): CommandNames {
  const names = {} as Record<ScriptName, string>;
  for (const script of assembleScripts()) {
    if (typeof (redis as unknown as Record<string, unknown>)[script.command] !== 'function') {
      redis.defineCommand(script.command, { lua: script.lua, numberOfKeys: script.numberOfKeys });
    }
    names[script.name] = script.command;
  }
  return names;
}
