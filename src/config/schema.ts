/**
 * The one configuration schema. Every setting comes from the environment; `loadConfig` validates all of it once at
 * start. The README's configuration table is generated from this file (`npm run docs:config`), so it cannot drift.
 */
import { bool, hostPorts, int, num, oneOf, optionalOneOf, optionalStr, pattern, secretKey, str, url, type Field } from './fields';

export const configFields = {
  // Kafka
  kafkaBrokers: hostPorts('KAFKA_BROKERS', 'Kafka bootstrap servers, host:port,host:port. Unset (with REDIS_URL unset too) runs the embedded mode: HTTP ingestion and in-memory state.'),
  kafkaClientId: str('KAFKA_CLIENT_ID', 'card-shield', 'Kafka client id, shown in broker logs and quotas.'),
  kafkaGroupId: str('KAFKA_GROUP_ID', 'card-shield', 'Consumer group of the scoring consumers; instances in one group share the partitions.'),
  kafkaSaslMechanism: optionalOneOf('KAFKA_SASL_MECHANISM', 'SASL mechanism; unset means no SASL.', ['plain', 'scram-sha-256', 'scram-sha-512'] as const),
  kafkaSaslUsername: optionalStr('KAFKA_SASL_USERNAME', 'SASL user name (required with KAFKA_SASL_MECHANISM).'),
  kafkaSaslPassword: optionalStr('KAFKA_SASL_PASSWORD', 'SASL password (required with KAFKA_SASL_MECHANISM). A login the brokers refuse leaves the service up and not ready, with one line naming this variable (never the password).'),
  kafkaTls: bool('KAFKA_TLS', false, 'Connect to Kafka over TLS.'),
  kafkaTlsCaFile: optionalStr('KAFKA_TLS_CA_FILE', 'PEM file of the CA that signed the brokers’ certificates (default: the system CAs). A broker certificate it does not trust leaves the service up and not ready, with one line naming this variable; an unreadable file is a configuration error.'),
  kafkaTlsRejectUnauthorized: bool('KAFKA_TLS_REJECT_UNAUTHORIZED', true, 'Verify broker certificates. Set false only in a lab.'),
  kafkaSessionTimeoutMs: int('KAFKA_SESSION_TIMEOUT_MS', 30000, 'Consumer group session timeout: how long the group waits for a silent (crashed) member before moving its partitions.', 6000, 300000),
  transactionsTopic: str('TRANSACTIONS_TOPIC', 'card-transactions', 'Topic of incoming card transactions (key = card).'),
  alertsTopic: str('ALERTS_TOPIC', 'fraud-alerts', 'Topic the alerts are published to (key = card token).'),
  labelsTopic: str('LABELS_TOPIC', 'fraud-labels', 'Topic of confirmed fraud/genuine labels.'),
  dlqTopic: str('DLQ_TOPIC', 'card-transactions.dlq', 'Dead-letter topic: invalid messages with their original bytes and the reason in headers.'),
  scoresTopic: optionalStr('SCORES_TOPIC', 'When set, every decision (not only alerts) is published here.'),
  scoresIncludeFeatures: bool(
    'SCORES_INCLUDE_FEATURES',
    false,
    'Each decision on SCORES_TOPIC also carries every feature by name as the models scored it (about 2 KB more per record: 2.5 KB in all against 0.5 KB), so `npm run train -- --scores` trains on exactly what production computed.',
  ),
  // Redis
  redisUrl: url('REDIS_URL', 'Redis server, redis://[user:password@]host:port[/db] or rediss:// for TLS. Unset (with KAFKA_BROKERS unset too) keeps state in memory.', ['redis:', 'rediss:']),
  redisClusterNodes: hostPorts('REDIS_CLUSTER_NODES', 'Redis Cluster seed nodes, host:port,…; when set, REDIS_URL supplies only credentials and TLS.'),
  redisKeyPrefix: pattern('REDIS_KEY_PREFIX', 'cs:', 'Prefix of every Redis key (lets two environments share a server).', /^[A-Za-z0-9:_-]{0,32}$/, 'letters, digits, colon, dash or underscore, up to 32'),
  // Card data
  panHmacKey: secretKey('PAN_HMAC_KEY', 'Key of the card token HMAC-SHA-256, at least 32 bytes: raw text, hex:… or base64:…. Required unless embedded; keep it in a secret store.', 32),
  defaultCurrency: pattern('DEFAULT_CURRENCY', 'KZT', 'Currency assumed when a transaction has none (ISO 4217).', /^[A-Z]{3}$/, 'a 3-letter ISO 4217 code'),
  maxMessageBytes: int('MAX_MESSAGE_BYTES', 65536, 'Largest transaction message accepted; larger ones go to the dead-letter topic.', 1024, 10485760),
  // Scoring
  rulesFile: str('RULES_FILE', 'rules/default.yaml', 'YAML rule set; watched and hot-reloaded.'),
  modelDir: str('MODEL_DIR', 'models/default', 'Directory of the TensorFlow.js model (model.json, weights.bin, metadata.json); `none` scores with rules only. Watched: a new model copied in, or a symlink swapped to one, is swapped in without a restart once it loads and validates (else the old one keeps scoring; `cardshield_model_reloads_total{result}`).'),
  challengerModelDir: optionalStr(
    'CHALLENGER_MODEL_DIR',
    'A second model directory, scored beside MODEL_DIR on every chunk and never deciding: its score goes to SCORES_TOPIC (challengerScore) and to metrics (cardshield_challenger_*). Watched like MODEL_DIR. One that fails to load is logged and counted, and the champion keeps scoring (readiness unaffected).',
  ),
  alertSuppressionSeconds: int('ALERT_SUPPRESSION_SECONDS', 3600, 'A card yields at most one alert per this many seconds of event time, unless the action escalates (review → block).', 0, 30 * 86400),
  // Compromise detection (src/compromise/)
  compromiseDetection: bool('COMPROMISE_DETECTION', true, 'Find compromised points of purchase from confirmed fraud and warn the cards exposed there (card-at-risk and compromised-point alerts; features card.exposed, …).'),
  compromiseLookbackDays: int('COMPROMISE_LOOKBACK_DAYS', 30, "A victim's visits count this many days before its first fraud.", 1, 90),
  compromiseRetentionDays: int('COMPROMISE_RETENTION_DAYS', 60, 'Visits and victims are kept this many days: the look-back plus the time labels take to arrive.', 2, 400),
  compromiseMaxWindowDays: int('COMPROMISE_MAX_WINDOW_DAYS', 31, 'Longest breach window the detector tries.', 1, 365),
  compromiseMinVictims: int('COMPROMISE_MIN_VICTIMS', 3, 'Victims a finding needs inside its window.', 2, 1000),
  compromiseAlarmP: num('COMPROMISE_ALARM_P', 1e-5, "Flag a point when its p-value (Poisson tail, corrected for the windows tried) is at or below this; 1e-5 gave 0.1 false point alerts per week per 10,000 points in the simulator's study (README).", 1e-30, 0.5),
  compromiseMinLift: num('COMPROMISE_MIN_LIFT', 3, 'A flagged point also needs at least this many times the victims its traffic explains (a big place near a breach passes the p-value with a modest excess).', 1, 1000),
  compromiseReissueP: num('COMPROMISE_REISSUE_P', 1e-9, "Recommend reissuing an exposed card when its point's p-value is at or below this; monitor above.", 1e-300, 0.5),
  compromiseSuspectWeight: num('COMPROMISE_SUSPECT_WEIGHT', 0.5, 'How much a card the service itself blocked counts as a victim until a label decides; 0 ignores block decisions.', 0, 1),
  compromiseMinFraudShare: num('COMPROMISE_MIN_FRAUD_SHARE', 0.2, "Fraud at the point itself needs at least this share of the point's cards in the window defrauded there.", 0, 1),
  // Service
  httpPort: int('HTTP_PORT', 8080, 'Port of health, readiness, metrics and the HTTP API.', 0, 65535),
  logLevel: oneOf('LOG_LEVEL', 'info', 'Least severe level that is logged (JSON lines on stdout).', ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const),
  adminToken: optionalStr('ADMIN_TOKEN', 'Bearer token required by the admin endpoints (rule and model views, reload). Unset disables them outside the embedded mode.'),
  shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 25000, 'Hard deadline for a graceful shutdown after SIGTERM.', 1000, 600000),
  chunkSize: int('CHUNK_SIZE', 500, 'Transactions scored together: one Redis round trip and one model call per chunk.', 1, 10000),
  concurrentPartitions: int(
    'CONCURRENT_PARTITIONS',
    6,
    "Partitions whose chunks are scored at the same time, so one chunk's Redis round trip overlaps another's decoding, rules and model, and Redis is kept busy. Each partition keeps its order (a card's transactions are never reordered).",
    1,
    64,
  ),
  reviewThreshold: num('REVIEW_THRESHOLD', 0.5, 'Final score at or above which a transaction is alerted for review.', 0, 1),
  // The fraud desk (src/desk/): a read model in PostgreSQL and the analysts' web page at /desk/
  deskDatabaseUrl: url(
    'DESK_DATABASE_URL',
    "PostgreSQL of the fraud desk, postgres://user:password@host:5432/db. Set: this instance also runs the desk (its own consumer groups read the alerts, scores and labels topics into PostgreSQL; the page is served at /desk/). Unset: no desk, except in the embedded mode, where it runs on PGlite in process.",
    ['postgres:', 'postgresql:'],
  ),
  deskPgliteDir: optionalStr('DESK_PGLITE_DIR', 'Embedded mode without DESK_DATABASE_URL: directory where PGlite keeps the desk’s data; unset keeps it in memory (lost on exit).'),
  deskUsers: optionalStr(
    'DESK_USERS',
    'Desk users, comma-separated name:role:hash with role viewer or analyst and hash from `npm run desk:hash-password` (scrypt). Keep it in a secret store. Unset in the embedded mode: one analyst with a random password, printed at start.',
  ),
  deskUsersFile: optionalStr('DESK_USERS_FILE', 'File of desk users, one name:role:hash a line (# comments allowed); read at start, together with DESK_USERS.'),
  deskGroupId: str('DESK_GROUP_ID', 'card-shield-desk', 'Consumer group prefix of the desk’s consumers (…-alerts, …-scores, …-labels); every desk instance reads into the same database, so they share it.'),
  deskBatchSize: int('DESK_BATCH_SIZE', 2000, 'Messages written to PostgreSQL in one statement by the desk’s consumers.', 1, 50000),
  deskRetentionDays: int('DESK_RETENTION_DAYS', 90, 'Alerts, decisions and labels ingested longer ago than this are deleted (hourly). The analysts’ audit trail is kept.', 1, 3650),
  deskSessionHours: int('DESK_SESSION_HOURS', 12, 'How long a desk sign-in lasts.', 1, 720),
  deskSecureCookie: bool('DESK_SECURE_COOKIE', false, 'Mark the desk’s session cookie Secure (browsers then send it over HTTPS only): set true wherever the desk is served over TLS.'),
  blockThreshold: num('BLOCK_THRESHOLD', 0.85, 'Final score at or above which the alert asks to block.', 0, 1),
} satisfies Record<string, Field<unknown>>;

type FieldValue<F> = F extends Field<infer T> ? T : never;
export type Config = { -readonly [K in keyof typeof configFields]: FieldValue<(typeof configFields)[K]> };
