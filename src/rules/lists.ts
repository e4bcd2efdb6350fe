/**
 * Named lists (allow- and blocklists of cards, merchants, terminals, countries, MCCs, devices, IPs). A rule file
 * declares each list with its kind and where its members come from: inline `values`, a `file` (one entry a line), or
 * `external: true` (supplied at run time through a ListRegistry: a Redis set mirror, compromise detection).
 */
export const LIST_KINDS = ['card', 'merchant', 'terminal', 'country', 'mcc', 'device', 'ip'] as const;
export type ListKind = (typeof LIST_KINDS)[number];

/** The transaction field each kind of list is matched against, so `in_list` on the wrong field fails at load. */
export const LIST_KIND_FIELD: Readonly<Record<ListKind, string>> = {
  card: 'cardToken',
  merchant: 'merchantId',
  terminal: 'terminalId',
  country: 'country',
  mcc: 'mcc',
  device: 'deviceId',
  ip: 'ip',
};

/** Membership test; synchronous because rule evaluation is. */
export interface ListMembership {
  has(value: string): boolean;
  readonly size: number;
}

/** Lists whose members are kept up to date by somebody else, looked up by name when a rule set is compiled. */
export interface ListRegistry {
  get(name: string): ListMembership | undefined;
}

/** An in-process registry: compromise detection (or a test) replaces or adds members while rules keep serving. */
export class InMemoryListRegistry implements ListRegistry {
  private readonly lists = new Map<string, Set<string>>();

  constructor(initial: Readonly<Record<string, Iterable<string>>> = {}) {
    for (const [name, values] of Object.entries(initial)) this.lists.set(name, new Set(values));
  }

  get(name: string): ListMembership | undefined {
    return this.lists.get(name);
  }

  /** Swaps the whole membership at once; a compiled rule set sees it because it holds the registry's Set. */
  replace(name: string, values: Iterable<string>): void {
    const list = this.lists.get(name);
    if (list === undefined) {
      this.lists.set(name, new Set(values));
      return;
    }
    const next = new Set(values);
    for (const value of list) if (!next.has(value)) list.delete(value);
    for (const value of next) list.add(value);
  }

  add(name: string, value: string): void {
    const list = this.lists.get(name);
    if (list === undefined) this.lists.set(name, new Set([value]));
    else list.add(value);
  }
}

/** One entry a line; blank lines and `#` comments ignored, so a list file can say who maintains it and why. */
export function parseListText(text: string): string[] {
  const entries: string[] = [];
  for (const line of text.split('\n')) {
    const hash = line.indexOf('#');
    const entry = (hash === -1 ? line : line.slice(0, hash)).trim();
    if (entry !== '') entries.push(entry);
  }
  return entries;
}

const ENTRY_FORMATS: Readonly<Record<ListKind, { pattern: RegExp; expected: string }>> = {
  // A card list holds tokens only: a PAN pasted into a list file must be refused, and never echoed back.
  card: { pattern: /^[0-9a-f]{64}$/, expected: 'a card token (64 lowercase hex digits; card lists never hold PANs)' },
  merchant: { pattern: /^\S{1,64}$/, expected: 'a merchant id (1–64 characters, no spaces)' },
  terminal: { pattern: /^\S{1,64}$/, expected: 'a terminal id (1–64 characters, no spaces)' },
  country: { pattern: /^[A-Z]{2}$/, expected: 'an ISO 3166-1 alpha-2 code in capitals' },
  mcc: { pattern: /^[0-9]{4}$/, expected: 'a 4-digit merchant category code' },
  device: { pattern: /^\S{1,128}$/, expected: 'a device id (1–128 characters, no spaces)' },
  ip: { pattern: /^[0-9A-Fa-f.:]{2,45}$/, expected: 'an IPv4 or IPv6 address' },
};

/** The problem with one entry, or undefined when it fits the list's kind. Never includes the entry itself. */
export function listEntryProblem(kind: ListKind, entry: string): string | undefined {
  const format = ENTRY_FORMATS[kind];
  return format.pattern.test(entry) ? undefined : `is not ${format.expected}`;
}
