/**
 * Typed configuration fields: each names its environment variable, its default and its help text, and parses and
 * validates its raw string. A bad value throws ConfigError with one line naming the variable.
 */
import { ConfigError } from '../errors';

export interface Field<T> {
  env: string;
  help: string;
  /** Rendered in the README's table; `undefined` means the variable is optional with no value. */
  defaultText: string;
  parse(raw: string | undefined): T;
}

type Parser<T> = (raw: string, env: string) => T;

function field<T>(env: string, fallback: T, help: string, parse: Parser<T>, defaultText?: string): Field<T> {
  return {
    env,
    help,
    defaultText: defaultText ?? (fallback === undefined ? '' : Array.isArray(fallback) ? fallback.join(',') : String(fallback)),
    parse: (raw) => (raw === undefined || raw.trim() === '' ? fallback : parse(raw.trim(), env)),
  };
}

export const str = (env: string, fallback: string, help: string) => field(env, fallback, help, (raw) => raw);

export const optionalStr = (env: string, help: string) => field<string | undefined>(env, undefined, help, (raw) => raw);

export const pattern = (env: string, fallback: string, help: string, re: RegExp, expected: string) =>
  field(env, fallback, help, (raw, name) => {
    if (!re.test(raw)) throw new ConfigError(name, `"${raw}" is not ${expected}`);
    return raw;
  });

export const int = (env: string, fallback: number, help: string, min: number, max: number) =>
  field(env, fallback, help, (raw, name) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(name, `"${raw}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  });

export const num = (env: string, fallback: number, help: string, min: number, max: number) =>
  field(env, fallback, help, (raw, name) => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new ConfigError(name, `"${raw}" must be a number from ${min} to ${max}`);
    }
    return value;
  });

export const bool = (env: string, fallback: boolean, help: string) =>
  field(env, fallback, help, (raw, name) => {
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new ConfigError(name, `"${raw}" must be true or false`);
  });

export const oneOf = <const T extends string>(env: string, fallback: T, help: string, values: readonly T[]) =>
  field(env, fallback, help, (raw, name) => {
    if (!(values as readonly string[]).includes(raw)) throw new ConfigError(name, `"${raw}" must be one of ${values.join(', ')}`);
    return raw as T;
  });

export const optionalOneOf = <const T extends string>(env: string, help: string, values: readonly T[]) =>
  field<T | undefined>(env, undefined, help, (raw, name) => {
    if (!(values as readonly string[]).includes(raw)) throw new ConfigError(name, `"${raw}" must be one of ${values.join(', ')}`);
    return raw as T;
  });

/** A comma-separated list of host:port pairs. */
export const hostPorts = (env: string, help: string) =>
  field<string[]>(env, [], help, (raw, name) => {
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) {
      const port = Number(item.slice(item.lastIndexOf(':') + 1));
      if (!item.includes(':') || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new ConfigError(name, `"${item}" is not host:port`);
      }
    }
    return items;
  }, '');

export const url = (env: string, help: string, protocols: readonly string[]) =>
  field<string | undefined>(env, undefined, help, (raw, name) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, `is not a URL (expected ${protocols.map((p) => `${p}//host:port`).join(' or ')})`);
    }
    if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `scheme must be ${protocols.join(' or ')}`);
    return raw;
  });

/**
 * A secret key: raw text (UTF-8 bytes), or `hex:…` / `base64:…` for binary keys. Never echoed in errors.
 */
export const secretKey = (env: string, help: string, minBytes: number) =>
  field<Buffer | undefined>(env, undefined, help, (raw, name) => {
    let key: Buffer;
    if (raw.startsWith('hex:')) {
      const hex = raw.slice(4);
      if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new ConfigError(name, 'hex: key must be an even number of hex digits');
      key = Buffer.from(hex, 'hex');
    } else if (raw.startsWith('base64:')) key = Buffer.from(raw.slice(7), 'base64');
    else key = Buffer.from(raw, 'utf8');
    if (key.length < minBytes) throw new ConfigError(name, `key is ${key.length} bytes; at least ${minBytes} bytes are required`);
    return key;
  });
