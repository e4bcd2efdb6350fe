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
import { CARD_EVENT_FLAGS, CARD_EVENT_FORMAT, ENTITY_EVENT_FORMAT } from './entity-events';
import { COUNTER_MAX, DAY_MS, HEADER_TYPES, LAYOUTS, MINUTE_MS, NO_TIME, PRUNE_PERIOD_MS, type Layout } from './layout';

export const SCRIPT_FILES = {
  updateCard: 'updateCard-3',
  updateEntity: 'updateEntity-3',
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

/** The Lua view of a layout: one flat array of values (fixed part), with 1-based positions of header fields and lanes. */
function luaLayout(layout: Layout) {
  const headerIndex = Object.fromEntries(layout.header.map((field, i) => [field, 2 + i]));
  let base = 1 + layout.header.length;
  const tiers = layout.tiers.map((tier, index) => {
    const lua = {
      index: index + 1,
      widthMs: tier.widthMs,
      slots: tier.slots,
      base,
      offset: tier.offset,
      slotSize: tier.slotSize,
      slotFormat: tier.structFormat,
      laneCount: tier.lanes.length,
      laneOf: Object.fromEntries(tier.lanes.map((lane, i) => [lane, i + 1])),
      counterMax: tier.laneTypes.map((type) => COUNTER_MAX[type] ?? false),
    };
    base += tier.slots * tier.lanes.length;
    return lua;
  });
  return {
    version: layout.version,
    size: layout.size,
    headerFormat: layout.headerFormat,
    headerValueCount: 1 + layout.header.length,
    headerIndex,
    timeIndexes: layout.header.filter((field) => HEADER_TYPES[field] === 'f64').map((field) => headerIndex[field]),
    cardsHorizonMs: layout.cardsHorizonMs,
    tiers,
    tierOf: Object.fromEntries(layout.tiers.map((tier, i) => [tier.name, i + 1])),
  };
}

/**
 * Constants, and `layoutNamed(name)`: a script runs its prelude on every call, so a layout's tables are built only
 * when asked for (building all of them cost more than the rest of a typical call). ZEROS is a literal: Redis
 * compiles a script once, so it costs nothing per call.
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
    `local ENTITY_EVENT_FORMAT = ${luaValue(ENTITY_EVENT_FORMAT)}`,
    `local NO_TIME = ${luaValue(NO_TIME)}`,
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
    '  LAYOUT_CACHE[name] = cached',
    '  return cached',
    'end',
    '',
  ].join('\n');
}

const INCLUDE = /^--- @include "([A-Za-z0-9_]+)"\s*$/gm;

function resolveIncludes(source: string, directory: string, included: Set<string>): string {
  return source.replace(INCLUDE, (_line, helper: string) => {
    if (included.has(helper)) return '';
    included.add(helper);
    const text = readFileSync(join(directory, 'includes', `${helper}.lua`), 'utf8');
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
    const body = resolveIncludes(readFileSync(join(directory, `${file}.lua`), 'utf8'), directory, new Set());
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
