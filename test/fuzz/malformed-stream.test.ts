/**
 * Fuzzing at volume (`npm run test:fuzz`): 100,000 generated malformed messages mixed into a stream of good
 * transactions, through the real service on the real broker and Redis. Expected: no crash, every malformed message
 * in the dead-letter topic once with a reason of its kind and an error text, every good transaction decided, and the
 * service's own counters reconciling with what arrived.
 *
 * The corpus is seeded (fast-check's `sample` with a fixed seed): a failure names the message by its `fuzz-id`
 * header, and the same run reproduces it. Kinds: truncated JSON, wrong types, huge, deeply nested, invalid UTF-8,
 * not an object, and valid JSON with hostile values (far-future dates, NaN-like strings, 1e309, 10,000-element
 * arrays, prototype-pollution keys, a CVV in a message nested too deep to redact).
 */
import fc from 'fast-check';
import Redis from 'ioredis';
import { Writable } from 'node:stream';
import { startService, type RunningService } from '../../src/service';
import { Telemetry } from '../../src/telemetry/events';
import { createLogger } from '../../src/telemetry/logger';
import type { TransactionMessage } from '../../src/contract/schemas';
import { collect, produceAll, testKafka, type Collector } from '../support/kafka';
import { prepareNames, serviceOverrides, type TestNames } from '../support/service';
import { asKafkaMessage, cardStream, transaction } from '../support/traffic';
import { deleteKeysWithPrefix, stackAddresses } from '../support/env';

const BAD = 100_000;
const CARDS = 500;
const PER_CARD = 10;
const GOOD = CARDS * PER_CARD;
const T0 = Date.parse('2026-11-30T00:00:00Z');
const SEED = 20261206;

type Reason = 'too_large' | 'invalid_utf8' | 'invalid_json' | 'not_an_object' | 'schema';
interface Malformed {
  kind: string;
  value: Buffer;
  reasons: Reason[];
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const base = (n: number) => transaction(n % 997, `fuzz-${n}`, T0 + n);
const brackets = (depth: number, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);
/** A valid transaction's JSON with one field's value replaced by raw JSON text. */
const withRawField = (n: number, field: string, raw: string) => Buffer.from(JSON.stringify({ ...base(n), [field]: '\u0000RAW' }).replace('"\u0000RAW"', raw));

const index = fc.nat({ max: 1_000_000 });
const wrongTyped: Array<[keyof TransactionMessage, fc.Arbitrary<unknown>]> = [
  ['amount', fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }))],
  ['timestamp', fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 12 }).filter((s) => Number.isNaN(Date.parse(s))))],
  ['transactionId', fc.oneof(fc.integer(), fc.constant(''), fc.constant(null), fc.string({ minLength: 65, maxLength: 80 }))],
  ['channel', fc.oneof(fc.integer(), fc.constantFrom('fax', 'POS', '', 'telepathy'))],
  ['cardPresent', fc.oneof(fc.constantFrom('true', 'yes', 1, 0), fc.constant(null))],
  ['pan', fc.oneof(fc.integer(), fc.constantFrom('', '1234', '4000 0000 0000 0002', 'x'.repeat(16)))],
  ['latitude', fc.oneof(fc.double({ min: 91, max: 1e9, noNaN: true }), fc.string())],
];

const arbitraries: Array<{ weight: number; arbitrary: fc.Arbitrary<Malformed> }> = [
  {
    weight: 20, // truncated somewhere inside: the closing brace is always lost
    arbitrary: fc.tuple(index, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })).map(([n, at]) => {
      const text = JSON.stringify(base(n));
      return { kind: 'truncated', value: Buffer.from(text.slice(0, 1 + Math.floor(at * (text.length - 1)))), reasons: ['invalid_json'] };
    }),
  },
  {
    weight: 25,
    arbitrary: fc.tuple(index, fc.constantFrom(...wrongTyped.keys()).chain((i) => fc.tuple(fc.constant(wrongTyped[i][0]), wrongTyped[i][1]))).map(([n, [field, value]]) => ({
      kind: `wrong-type:${field}`,
      value: json({ ...base(n), [field]: value }),
      reasons: ['schema'],
    })),
  },
  {
    weight: 10, // a required field missing
    arbitrary: fc.tuple(index, fc.constantFrom('transactionId', 'timestamp', 'amount', 'pan')).map(([n, field]) => {
      const message: Record<string, unknown> = { ...base(n) };
      delete message[field];
      return { kind: `missing:${field}`, value: json(message), reasons: ['schema'] };
    }),
  },
  {
    weight: 0.2, // rare: each is over 64 KiB
    arbitrary: fc.tuple(index, fc.integer({ min: 65_537, max: 90_000 })).map(([n, size]) => ({ kind: 'huge', value: json({ ...base(n), city: 'x'.repeat(size) }), reasons: ['too_large'] })),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(index, fc.integer({ min: 50, max: 5_000 }), fc.boolean()).map(([n, depth, top]) =>
      top
        ? { kind: 'deep-top', value: Buffer.from(brackets(depth)), reasons: ['not_an_object'] as Reason[] }
        : { kind: 'deep-field', value: withRawField(n, 'amount', brackets(depth, '1')), reasons: ['schema'] as Reason[] },
    ),
  },
  {
    weight: 0.4, // sensitive authentication data inside a message too deep to re-serialise without it
    // 15,000 levels at least: JSON.stringify overflows the default stack from about 5,000.
    arbitrary: fc.tuple(index, fc.integer({ min: 15_000, max: 30_000 })).map(([n, depth]) => ({
      kind: 'deep-cvv',
      value: Buffer.from(JSON.stringify({ ...base(n), cvv: '123' }).replace('"amount":5000', `"amount":${brackets(depth)}`)),
      reasons: ['schema'],
    })),
  },
  {
    weight: 10,
    arbitrary: fc
      .tuple(index, fc.constantFrom([0xff], [0xfe], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]), fc.nat({ max: 200 }))
      .map(([n, bad, at]) => {
        const text = Buffer.from(JSON.stringify({ ...base(n), city: 'Алматы Almaty' }));
        const cut = 1 + (at % (text.length - 2));
        return { kind: 'invalid-utf8', value: Buffer.concat([text.subarray(0, cut), Buffer.from(bad), text.subarray(cut)]), reasons: ['invalid_utf8'] };
      }),
  },
  {
    weight: 5,
    arbitrary: fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 5 })).map((value) => ({
      kind: 'not-an-object',
      value: json(value),
      reasons: ['not_an_object'],
    })),
  },
  {
    weight: 5, // any bytes: whatever they are, they are not a transaction
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => ({
      kind: 'random-bytes',
      value: Buffer.from(bytes),
      reasons: ['invalid_utf8', 'invalid_json', 'not_an_object', 'schema'],
    })),
  },
  {
    weight: 17, // valid JSON objects with hostile values
    arbitrary: fc.tuple(index, fc.nat({ max: 8 }), fc.integer({ min: 2100, max: 9999 })).map(([n, which, year]) => {
      const hostile: Array<[string, () => Buffer]> = [
        ['far-future', () => json({ ...base(n), timestamp: `${year}-01-01T00:00:00Z` })],
        ['nan-string', () => json({ ...base(n), amount: ['NaN', 'Infinity', '-Infinity', '1e309', '0x10'][n % 5] })],
        ['overflow-number', () => withRawField(n, 'amount', ['1e309', '-1e309', '1e400'][n % 3])],
        ['long-array', () => json({ ...base(n), channel: Array.from({ length: 10_000 }, () => 'pos') })],
        ['long-array-amount', () => json({ ...base(n), amount: Array.from({ length: 10_000 }, (_, i) => i % 10) })],
        ['proto-key', () => Buffer.from(JSON.stringify({ ...base(n), amount: 'x' }).replace('{', '{"__proto__":{"polluted":"yes","amount":1},'))],
        ['constructor-key', () => Buffer.from(JSON.stringify({ ...base(n), timestamp: 'never' }).replace('{', '{"constructor":{"prototype":{"polluted":"yes"}},'))],
        ['negative-amount', () => json({ ...base(n), amount: -1 - (n % 1000) })],
        ['bad-date', () => json({ ...base(n), timestamp: ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-30T25:00:00Z', '2026-11-30'][n % 4] })],
      ];
      // The 10,000-element arrays (20–60 kB each) one time in ten: enough of them, without tens of MB of them.
      const pick = (which === 3 || which === 4) && n % 10 !== 0 ? 0 : which;
      const [kind, make] = hostile[pick];
      return { kind: `hostile:${kind}`, value: make(), reasons: ['schema'] as Reason[] };
    }),
  },
];

describe('100,000 malformed messages in a real stream', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  const telemetry = new Telemetry();
  let crashes = 0;
  telemetry.on('consumer.crash', () => crashes++);
  const joins = new Map<string, number>();
  telemetry.on('consumer.rebalance', ({ groupId }) => joins.set(groupId, (joins.get(groupId) ?? 0) + 1));
  const logLines: string[] = [];
  let names: TestNames;
  let service: RunningService;
  let scores: Collector;
  let dlq: Collector;

  beforeAll(async () => {
    names = await prepareNames('fuzz', 6);
    [scores, dlq] = await Promise.all([collect(kafka, names.scoresTopic), collect(kafka, names.dlqTopic)]);
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(...String(chunk).split('\n').filter((l) => l !== ''));
        done();
      },
    });
    service = await startService({ env: {}, telemetry, overrides: serviceOverrides(names, { modelDir: 'none', logLevel: 'warn' }), logger: createLogger({ level: 'warn', destination }) });
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([scores, dlq].map((c) => c?.stop()));
    await deleteKeysWithPrefix(redis, names.redisKeyPrefix, 1000);
    redis.disconnect();
  });

  it('dead-letters every malformed message with its reason, decides every good one, never crashes, and the counts reconcile', async () => {
    const started = Date.now();
    const corpus = fc.sample(fc.oneof(...arbitraries.map(({ weight, arbitrary }) => ({ weight: Math.max(1, Math.round(weight * 5)), arbitrary }))), { numRuns: BAD, seed: SEED });
    const expected = new Map(corpus.map((m, i) => [`bad-${i}`, m]));
    // Good transactions, some carrying prototype-pollution keys and deep unknown fields the contract ignores.
    const good: Array<{ key: string; value: string | Buffer }> = Array.from({ length: CARDS }, (_, c) => cardStream(5000 + c, PER_CARD, T0 + c * 10, 3600_000, 'good'))
      .flat()
      .map((t, i) => {
        const message = asKafkaMessage(t);
        if (i % 10 === 1) return { key: message.key, value: message.value.replace('{', '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},') };
        if (i % 10 === 2) return { key: message.key, value: message.value.replace('{', `{"extra":${brackets(2000)},`) };
        return message;
      });
    const stream: Array<{ key: string | null; value: string | Buffer; headers?: Record<string, string> }> = [];
    const every = Math.floor(BAD / GOOD);
    corpus.forEach((m, i) => {
      stream.push({ key: `bad-${i % 64}`, value: m.value, headers: { 'fuzz-id': `bad-${i}`, 'fuzz-kind': m.kind } });
      if (i % every === every - 1 && i / every < GOOD) stream.push(good[Math.floor(i / every)]);
    });
    expect(stream.length).toBe(BAD + GOOD);
    const generated = Date.now();

    // Batches of 200: a produce batch per partition stays well under the broker's 1 MB message.max.bytes.
    await produceAll(kafka, names.transactionsTopic, stream, 200);
    await dlq.waitFor((ms) => ms.length >= BAD, `${BAD} dead letters`, 600_000);
    await scores.waitFor((ms) => ms.length >= GOOD, `${GOOD} decisions`, 600_000);
    const processed = Date.now();

    // Every malformed message dead-lettered, with a reason its kind allows and an error text. Kafka delivers at
    // least once: should the group have been rejoined (a member timed out on a loaded machine), a redelivered chunk
    // is dead-lettered again, with the same reason; in a run without a rejoin, exactly once.
    const wrong: string[] = [];
    const reasonOf = new Map<string, string>();
    const byReason = new Map<string, number>();
    let duplicates = 0;
    for (const m of dlq.messages) {
      const id = m.headers['fuzz-id'];
      const sent = expected.get(id);
      const reason = m.headers['dlq-reason'];
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
      if (!sent) wrong.push(`unexpected dead letter ${id ?? '(no fuzz-id)'}: ${reason} ${m.headers['dlq-error']}`);
      else if (!sent.reasons.includes(reason as Reason)) wrong.push(`${id} (${sent.kind}): ${reason}, expected ${sent.reasons.join('|')}; ${m.headers['dlq-error']}`);
      if (!(m.headers['dlq-error']?.length > 0)) wrong.push(`${id}: no dlq-error`);
      if (reasonOf.has(id)) {
        duplicates++;
        if (reasonOf.get(id) !== reason) wrong.push(`${id}: dead-lettered as ${reasonOf.get(id)} and as ${reason}`);
      }
      reasonOf.set(id, reason);
    }
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(reasonOf.size).toBe(BAD);
    const deepCvv = dlq.messages.filter((m) => m.headers['fuzz-kind'] === 'deep-cvv');
    expect(deepCvv.length).toBeGreaterThan(0);
    expect(deepCvv.every((m) => m.headers['dlq-value-dropped'] === 'too deeply nested to redact' && m.value?.length === 0)).toBe(true);

    // Every good transaction decided.
    const decided = scores.messages.map((m) => (JSON.parse(String(m.value)) as { transactionId: string }).transactionId);
    expect(new Set(decided).size).toBe(GOOD);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // The service's own counters agree with what arrived: each consumed message went to exactly one of the
    // dead-letter topic and the decisions. Nothing crashed; the service is ready at the end.
    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    const sum = (name: string) =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
        .reduce((total, l) => total + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    // A rebalance, or kafkajs rejoining after the coordinator forgot the member (its heartbeats came too late).
    const rejoins = logLines.filter((l) => l.includes('re-joining the group') && l.includes(`"${names.kafkaGroupId}"`)).length;
    const rejoined = (joins.get(names.kafkaGroupId) ?? 0) > 0 || rejoins > 0;
    expect(sum('cardshield_dlq_messages_total')).toBe(dlq.messages.length);
    expect(sum('cardshield_decisions_total')).toBe(scores.messages.length);
    expect(sum('cardshield_messages_consumed_total')).toBe(dlq.messages.length + scores.messages.length);
    if (!rejoined) {
      expect(dlq.messages.length).toBe(BAD);
      expect(scores.messages.length).toBe(GOOD);
    }
    expect(crashes).toBe(0);
    const ready = await fetch(`http://127.0.0.1:${service.port}/readyz`);
    expect(ready.status).toBe(200);

    const kinds = new Map<string, number>();
    for (const m of corpus) kinds.set(m.kind.split(':')[0], (kinds.get(m.kind.split(':')[0]) ?? 0) + 1);
    process.stderr.write(
      `fuzz: ${BAD} malformed + ${GOOD} good; generated in ${generated - started} ms, produced and processed in ${processed - generated} ms; ` +
        `kinds ${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ')}; reasons ${[...byReason].map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
        `rebalances ${joins.get(names.kafkaGroupId) ?? 0}, rejoins ${rejoins}, service warnings ${logLines.length}, dead letters redelivered ${duplicates}, decisions redelivered ${scores.messages.length - GOOD}\n`,
    );
  });
});
