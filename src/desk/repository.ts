/**
 * Every query of the desk, with typed rows (after Marble's repositories). Writes are idempotent by the message's
 * own id: a redelivered batch or a restart changes nothing. Each batch is one statement over `unnest` of column
 * arrays, so a 2,000-row batch costs one round trip and one plan, on PostgreSQL and on PGlite alike.
 */
import type { Db, Queryable } from './db';
import type { AlertRow, DecisionRow, LabelRow } from './records';

export const ALERT_TYPES = ['transaction', 'card-at-risk', 'compromised-point'] as const;
export const STATUSES = ['open', 'closed', 'superseded'] as const;

/** What an analyst may decide, per alert type, and the label each decision becomes (if any). */
export const DECISIONS: Record<string, Record<string, 'fraud' | 'genuine' | null>> = {
  transaction: { fraud: 'fraud', genuine: 'genuine' },
  'card-at-risk': { reissue: null, monitor: null, dismiss: null },
  'compromised-point': { confirm: null, dismiss: null },
};

export interface QueueFilter {
  type?: string;
  action?: string;
  reason?: string;
  from?: string;
  until?: string;
  /** Default 'open'; 'all' for every status. */
  status?: string;
}

export interface AlertListRow {
  alert_id: string;
  type: string;
  transaction_id: string | null;
  card_token: string | null;
  masked_pan: string | null;
  score: number;
  action: string;
  reason_codes: string[];
  event_time: Date;
  point_kind: string | null;
  point_id: string | null;
  status: string;
  disposition: string | null;
}

export interface AlertDetail extends AlertListRow {
  created_at: Date;
  finding_id: string | null;
  revision: number | null;
  body: Record<string, unknown>;
  disposed_by: string | null;
  disposed_at: Date | null;
}

export interface TimelineRow {
  transaction_id: string;
  event_time: Date;
  amount: number | null;
  currency: string | null;
  merchant_id: string | null;
  terminal_id: string | null;
  mcc: string | null;
  country: string | null;
  channel: string | null;
  score: number;
  model_score: number | null;
  action: string;
  reason_codes: string[];
  alert_id: string | null;
  label: string | null;
  label_source: string | null;
}

export interface AuditRow {
  id: string;
  alert_id: string;
  decision: string;
  label: string | null;
  user_name: string;
  user_role: string;
  at: Date;
}

export interface AuditEntry {
  alertId: string;
  transactionId: string | null;
  cardToken: string | null;
  decision: string;
  label: 'fraud' | 'genuine' | null;
  userName: string;
  userRole: string;
}

/** Every decision, plus the transaction alerts whose decision the desk never saw (SCORES_TOPIC unset). */
const RULE_SOURCE = `SELECT d.transaction_id, d.event_time, d.reason_codes, d.alert_id FROM decisions d
  UNION ALL
  SELECT a.transaction_id, a.event_time, a.reason_codes, a.alert_id FROM alerts a
  WHERE a.type = 'transaction' AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.transaction_id = a.transaction_id)`;

const ALERT_COLUMNS = 'alert_id, type, transaction_id, card_token, masked_pan, score, action, reason_codes, event_time, point_kind, point_id, status, disposition';

/** WHERE clause and parameters of a queue filter (shared by the list, its counts and the poll). */
export function filterSql(filter: QueueFilter, omit: Array<keyof QueueFilter> = []): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    clauses.push(clause.replace('?', `$${params.length}`));
  };
  const use = (key: keyof QueueFilter) => !omit.includes(key) && filter[key] !== undefined && filter[key] !== '';
  const status = filter.status ?? 'open';
  if (!omit.includes('status') && status !== 'all') add('status = ?', status);
  if (use('type')) add('type = ?', filter.type);
  if (use('action')) add('action = ?', filter.action);
  if (use('reason')) add('reason_codes @> ARRAY[?]::text[]', filter.reason);
  if (use('from')) add('event_time >= ?::timestamptz', filter.from);
  if (use('until')) add('event_time < ?::timestamptz', filter.until);
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export interface FacetGroup {
  type: string;
  action: string;
  status: string;
  n: number;
  at: Date | null;
}

export interface FacetCounts {
  total: number;
  type: Record<string, number>;
  action: Record<string, number>;
  status: Record<string, number>;
  /** Newest ingestion among the alerts the filter shows (the page's version for polling). */
  latest: Date | null;
}

/** Sums groups of (type, action, status) into facet counts: a facet counts under every filter but its own. */
export function facetCounts(groups: readonly FacetGroup[], filter: QueueFilter): FacetCounts {
  const status = filter.status ?? 'open';
  const matches = (g: FacetGroup, skip?: 'type' | 'action' | 'status') =>
    (skip === 'type' || !filter.type || g.type === filter.type) &&
    (skip === 'action' || !filter.action || g.action === filter.action) &&
    (skip === 'status' || status === 'all' || g.status === status);
  const out: FacetCounts = { total: 0, type: {}, action: {}, status: {}, latest: null };
  for (const g of groups) {
    if (matches(g)) {
      out.total += g.n;
      if (g.at && (!out.latest || g.at > out.latest)) out.latest = g.at;
    }
    for (const facet of ['type', 'action', 'status'] as const) if (matches(g, facet)) out[facet][g[facet]] = (out[facet][g[facet]] ?? 0) + g.n;
  }
  return out;
}

export function createRepository(db: Db) {
  return {
    db,

    async upsertAlerts(rows: readonly AlertRow[]): Promise<number> {
      if (rows.length === 0) return 0;
      const inserted = await db.query<{ alert_id: string }>(
        `INSERT INTO alerts (alert_id, type, transaction_id, card_token, masked_pan, score, action, reason_codes, event_time, created_at,
                             point_kind, point_id, finding_id, revision, body)
         SELECT a, t, tx, card, masked, score, action, string_to_array(codes, ' '), ev, cr, pk, pid, fid, rev, body::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::text[], $9::timestamptz[],
                     $10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::int[], $15::text[])
              AS u(a, t, tx, card, masked, score, action, codes, ev, cr, pk, pid, fid, rev, body)
         ON CONFLICT (alert_id) DO NOTHING
         RETURNING alert_id`,
        [
          rows.map((r) => r.alertId),
          rows.map((r) => r.type),
          rows.map((r) => r.transactionId),
          rows.map((r) => r.cardToken),
          rows.map((r) => r.maskedPan),
          rows.map((r) => r.score),
          rows.map((r) => r.action),
          rows.map((r) => r.reasonCodes.join(' ')),
          rows.map((r) => r.eventTime),
          rows.map((r) => r.createdAt),
          rows.map((r) => r.pointKind),
          rows.map((r) => r.pointId),
          rows.map((r) => r.findingId),
          rows.map((r) => (r.revision === null ? null : Math.trunc(r.revision))),
          rows.map((r) => r.body),
        ],
      );
      const codes = [...new Set(rows.flatMap((r) => r.reasonCodes))];
      if (codes.length > 0) await db.query('INSERT INTO reason_codes (code) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [codes]);
      // A compromised-point finding is re-published as new revisions: only the newest stays in the queue, whatever
      // order the revisions arrive in. Two statements that commit on their own, not one transaction: when two
      // partitions' batches carry revisions of one finding at once, the later UPDATE always sees the other's
      // committed INSERT (in two transactions, both UPDATEs could run before either commit and both miss).
      const findings = [...new Set(rows.map((r) => r.findingId).filter((f): f is string => f !== null))];
      if (findings.length > 0) {
        await db.query(
          `UPDATE alerts a SET status = 'superseded'
           WHERE a.finding_id = ANY($1::text[]) AND a.status = 'open'
             AND EXISTS (SELECT 1 FROM alerts b WHERE b.finding_id = a.finding_id AND b.revision > a.revision)`,
          [findings],
        );
      }
      return inserted.length;
    },

    async upsertDecisions(rows: readonly DecisionRow[]): Promise<number> {
      if (rows.length === 0) return 0;
      const inserted = await db.query<{ n: number }>(
        `WITH ins AS (
           INSERT INTO decisions (transaction_id, card_token, masked_pan, event_time, amount, currency, merchant_id, terminal_id, mcc, country,
                                  channel, score, model_score, action, reason_codes, rules_version, alert_id)
           SELECT tx, card, masked, ev, amount, cur, merchant, terminal, mcc, country, channel, score, ms, action, string_to_array(codes, ' '), rv, alert
           FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::float8[], $6::text[], $7::text[], $8::text[], $9::text[],
                       $10::text[], $11::text[], $12::float8[], $13::float8[], $14::text[], $15::text[], $16::text[], $17::text[])
                AS u(tx, card, masked, ev, amount, cur, merchant, terminal, mcc, country, channel, score, ms, action, codes, rv, alert)
           ON CONFLICT (transaction_id) DO NOTHING
           RETURNING 1)
         SELECT count(*)::int AS n FROM ins`,
        [
          rows.map((r) => r.transactionId),
          rows.map((r) => r.cardToken),
          rows.map((r) => r.maskedPan),
          rows.map((r) => r.eventTime),
          rows.map((r) => r.amount),
          rows.map((r) => r.currency),
          rows.map((r) => r.merchantId),
          rows.map((r) => r.terminalId),
          rows.map((r) => r.mcc),
          rows.map((r) => r.country),
          rows.map((r) => r.channel),
          rows.map((r) => r.score),
          rows.map((r) => r.modelScore),
          rows.map((r) => r.action),
          rows.map((r) => r.reasonCodes.join(' ')),
          rows.map((r) => r.rulesVersion),
          rows.map((r) => r.alertId),
        ],
      );
      return inserted[0].n;
    },

    /** The newest report of a transaction wins; replaying an older one changes nothing. */
    async upsertLabels(rows: readonly LabelRow[]): Promise<void> {
      if (rows.length === 0) return;
      // one row per transaction within the batch (ON CONFLICT cannot touch a row twice in one statement): the newest
      const newest = new Map<string, LabelRow>();
      for (const r of rows) {
        const seen = newest.get(r.transactionId);
        if (!seen || Date.parse(r.reportedAt) >= Date.parse(seen.reportedAt)) newest.set(r.transactionId, r);
      }
      const list = [...newest.values()];
      await db.query(
        `INSERT INTO labels (transaction_id, card_token, label, source, reported_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
         ON CONFLICT (transaction_id) DO UPDATE SET label = excluded.label, source = excluded.source, reported_at = excluded.reported_at,
                                                  card_token = excluded.card_token, ingested_at = now()
         WHERE excluded.reported_at >= labels.reported_at`,
        [list.map((r) => r.transactionId), list.map((r) => r.cardToken), list.map((r) => r.label), list.map((r) => r.source), list.map((r) => r.reportedAt)],
      );
    },

    async queue(filter: QueueFilter, limit = 100, offset = 0): Promise<AlertListRow[]> {
      const { where, params } = filterSql(filter);
      return db.query<AlertListRow>(
        `SELECT ${ALERT_COLUMNS} FROM alerts ${where} ORDER BY score DESC, event_time DESC, alert_id LIMIT ${Math.trunc(limit)} OFFSET ${Math.trunc(offset)}`,
        params,
      );
    },

    /**
     * Counts per type, action and status under the rest of the filter (each facet ignores its own choice), the
     * total, and the newest ingestion: one scan grouped by the three facets (a few dozen groups), summed here.
     */
    async counts(filter: QueueFilter): Promise<FacetCounts> {
      const { where, params } = filterSql(filter, ['type', 'action', 'status']);
      const groups = await db.query<FacetGroup>(`SELECT type, action, status, count(*)::int AS n, max(ingested_at) AS at FROM alerts ${where} GROUP BY 1, 2, 3`, params);
      return facetCounts(groups, filter);
    },

    /** The newest ingestion under a filter: the page polls it to know when to refresh its list. */
    async latestIngest(filter: QueueFilter): Promise<{ n: number; at: Date | null }> {
      const { where, params } = filterSql(filter);
      return (await db.query<{ n: number; at: Date | null }>(`SELECT count(*)::int AS n, max(ingested_at) AS at FROM alerts ${where}`, params))[0];
    },

    async reasonCodes(): Promise<string[]> {
      return (await db.query<{ code: string }>('SELECT code FROM reason_codes ORDER BY 1 LIMIT 500')).map((r) => r.code);
    },

    async alert(alertId: string): Promise<AlertDetail | undefined> {
      const rows = await db.query<AlertDetail>(
        `SELECT ${ALERT_COLUMNS}, created_at, finding_id, revision, body, disposed_by, disposed_at FROM alerts WHERE alert_id = $1`,
        [alertId],
      );
      return rows[0];
    },

    /** A card's recent decisions with their labels, newest first; alerted transactions missing from the scores
     * topic (SCORES_TOPIC unset) still appear, from their alert. */
    async timeline(cardToken: string, limit = 200): Promise<TimelineRow[]> {
      return db.query<TimelineRow>(
        `SELECT * FROM (
           SELECT d.transaction_id, d.event_time, d.amount, d.currency, d.merchant_id, d.terminal_id, d.mcc, d.country, d.channel,
                  d.score, d.model_score, d.action, d.reason_codes, d.alert_id, l.label, l.source AS label_source
           FROM decisions d LEFT JOIN labels l USING (transaction_id)
           WHERE d.card_token = $1
           UNION ALL
           SELECT a.transaction_id, a.event_time, NULL, NULL, a.body->>'merchantId', a.body->>'terminalId', NULL, NULL, NULL,
                  a.score, (a.body->'model'->>'score')::float8, a.action, a.reason_codes, a.alert_id, l.label, l.source
           FROM alerts a LEFT JOIN labels l USING (transaction_id)
           WHERE a.card_token = $1 AND a.type = 'transaction'
             AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.transaction_id = a.transaction_id)
         ) t ORDER BY event_time DESC LIMIT ${Math.trunc(limit)}`,
        [cardToken],
      );
    },

    /** Labels of a card's transactions that the timeline may not hold (older than its decisions). */
    async cardLabels(cardToken: string): Promise<Array<{ transaction_id: string; label: string; source: string | null; reported_at: Date }>> {
      return db.query('SELECT transaction_id, label, source, reported_at FROM labels WHERE card_token = $1 ORDER BY reported_at DESC LIMIT 100', [cardToken]);
    },

    /** A card's other alerts, card-at-risk exposures among them. */
    async cardAlerts(cardToken: string): Promise<AlertDetail[]> {
      return db.query<AlertDetail>(
        `SELECT ${ALERT_COLUMNS}, created_at, finding_id, revision, body, disposed_by, disposed_at FROM alerts WHERE card_token = $1 ORDER BY event_time DESC LIMIT 100`,
        [cardToken],
      );
    },

    async audit(alertId: string): Promise<AuditRow[]> {
      return db.query<AuditRow>('SELECT id::text AS id, alert_id, decision, label, user_name, user_role, at FROM audit WHERE alert_id = $1 ORDER BY id', [alertId]);
    },

    /** Compromised points: the newest revision of each finding, with how many card-at-risk alerts warned its cards. */
    async points(status = 'open'): Promise<Array<AlertDetail & { exposed_cards: number }>> {
      return db.query(
        `SELECT ${ALERT_COLUMNS.split(', ').map((c) => `p.${c}`).join(', ')}, p.created_at, p.finding_id, p.revision, p.body, p.disposed_by, p.disposed_at,
                (SELECT count(DISTINCT c.card_token)::int FROM alerts c
                  WHERE c.type = 'card-at-risk' AND c.point_id = p.point_id
                    AND (p.finding_id IS NULL OR c.finding_id IS NULL OR c.finding_id = p.finding_id)) AS exposed_cards
         FROM alerts p
         WHERE p.type = 'compromised-point' AND ($1 = 'all' OR p.status = $1)
         ORDER BY p.score DESC, p.event_time DESC LIMIT 200`,
        [status],
      );
    },

    /** Cards warned as exposed at one point. */
    async exposedCards(pointId: string, limit = 50): Promise<AlertListRow[]> {
      return db.query<AlertListRow>(
        `SELECT ${ALERT_COLUMNS} FROM alerts WHERE type = 'card-at-risk' AND point_id = $1 ORDER BY score DESC, event_time DESC LIMIT ${Math.trunc(limit)}`,
        [pointId],
      );
    },

    /** Hits per rule (reason code) per day of event time, over the last `days` days of the data. */
    async ruleHitsPerDay(days = 14): Promise<Array<{ code: string; day: string; hits: number }>> {
      return db.query(
        `WITH src AS (${RULE_SOURCE}),
              horizon AS (SELECT max(event_time) - make_interval(days => $1::int) AS since FROM src)
         SELECT code, to_char(date_trunc('day', event_time AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::int AS hits
         FROM src CROSS JOIN unnest(src.reason_codes) AS code, horizon
         WHERE event_time >= horizon.since
         GROUP BY 1, 2 ORDER BY 1, 2`,
        [days],
      );
    },

    /**
     * Per rule: its hits, how many alerted, and of those hits how many were judged fraud or genuine (a label, or an
     * analyst's decision on the alert where no label arrived). Precision = fraud / judged; false-positive ratio =
     * genuine / fraud (good customers bothered per fraud caught, the figure analysts tune a rule by).
     */
    async ruleOutcomes(): Promise<Array<{ code: string; hits: number; alerts: number; fraud: number; genuine: number }>> {
      return db.query(
        `WITH src AS (${RULE_SOURCE})
         SELECT code, count(*)::int AS hits, count(src.alert_id)::int AS alerts,
                count(*) FILTER (WHERE coalesce(l.label, a.disposition) = 'fraud')::int AS fraud,
                count(*) FILTER (WHERE coalesce(l.label, a.disposition) = 'genuine')::int AS genuine
         FROM src CROSS JOIN unnest(src.reason_codes) AS code
              LEFT JOIN labels l ON l.transaction_id = src.transaction_id
              LEFT JOIN alerts a ON a.alert_id = src.alert_id
         GROUP BY 1 ORDER BY 2 DESC`,
      );
    },

    /** Alerts per hour and type over the 24 hours before the newest alert (event time: simulated data is old). */
    async alertsPerHour(hours = 24): Promise<Array<{ hour: Date; type: string; n: number }>> {
      return db.query(
        `WITH last AS (SELECT date_trunc('hour', max(event_time)) AS h FROM alerts)
         SELECT date_trunc('hour', a.event_time) AS hour, a.type, count(*)::int AS n
         FROM alerts a, last WHERE a.event_time > last.h - make_interval(hours => $1::int)
         GROUP BY 1, 2 ORDER BY 1`,
        [hours - 1],
      );
    },

    /** Scores of the decisions of the last 24 hours of event time in twenty bins (alerts alone when the scores topic
     * is not consumed); the event-time index keeps it off the whole table. */
    async scoreHistogram(): Promise<number[]> {
      const binsOf = (table: 'decisions' | 'alerts') =>
        db.query<{ bin: number; n: number }>(
          `SELECT least(floor(score * 20), 19)::int AS bin, count(*)::int AS n FROM ${table}
           WHERE event_time > (SELECT max(event_time) FROM ${table}) - interval '24 hours' GROUP BY 1`,
        );
      const fromDecisions = await binsOf('decisions');
      const rows = fromDecisions.length > 0 ? fromDecisions : await binsOf('alerts');
      const bins = new Array<number>(20).fill(0);
      for (const r of rows) bins[r.bin] = r.n;
      return bins;
    },

    async rulesVersions(): Promise<Array<{ rules_version: string; n: number; last: Date }>> {
      return db.query(`SELECT rules_version, count(*)::int AS n, max(event_time) AS last FROM decisions WHERE rules_version IS NOT NULL GROUP BY 1 ORDER BY 3 DESC LIMIT 5`);
    },

    /**
     * Appends an analyst's decision and closes the alert, in the caller's transaction. Returns false when the same
     * decision on the same alert was already recorded (a second click): nothing is written and no label is sent.
     */
    async appendDecision(tx: Queryable, entry: AuditEntry): Promise<boolean> {
      const rows = await tx.query(
        `INSERT INTO audit (alert_id, transaction_id, card_token, decision, label, user_name, user_role)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (alert_id, decision) DO NOTHING RETURNING id`,
        [entry.alertId, entry.transactionId, entry.cardToken, entry.decision, entry.label, entry.userName, entry.userRole],
      );
      if (rows.length === 0) return false;
      await tx.query(`UPDATE alerts SET status = 'closed', disposition = $2, disposed_by = $3, disposed_at = now() WHERE alert_id = $1`, [
        entry.alertId,
        entry.label ?? entry.decision,
        entry.userName,
      ]);
      return true;
    },

    async createSession(s: { tokenHash: string; userName: string; userRole: string; csrfToken: string; expiresAt: Date }): Promise<void> {
      await db.query('INSERT INTO sessions (token_hash, user_name, user_role, csrf_token, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        s.tokenHash,
        s.userName,
        s.userRole,
        s.csrfToken,
        s.expiresAt,
      ]);
    },

    async session(tokenHash: string): Promise<{ user_name: string; user_role: string; csrf_token: string } | undefined> {
      const rows = await db.query<{ user_name: string; user_role: string; csrf_token: string }>(
        'SELECT user_name, user_role, csrf_token FROM sessions WHERE token_hash = $1 AND expires_at > now()',
        [tokenHash],
      );
      return rows[0];
    },

    async deleteSession(tokenHash: string): Promise<void> {
      await db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
    },

    /**
     * Retention by ingestion day (event times of replayed or simulated traffic can be old): alerts, decisions and
     * labels older than `days` go, and expired sessions. The audit trail is kept: it is append-only by design.
     */
    async purge(days: number): Promise<{ alerts: number; decisions: number; labels: number }> {
      const count = async (sql: string) => (await db.query<{ n: number }>(`WITH d AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM d`, [days]))[0].n;
      await db.query('DELETE FROM sessions WHERE expires_at < now()');
      return {
        alerts: await count(`DELETE FROM alerts WHERE ingested_at < now() - make_interval(days => $1::int)`),
        decisions: await count(`DELETE FROM decisions WHERE ingested_at < now() - make_interval(days => $1::int)`),
        labels: await count(`DELETE FROM labels WHERE ingested_at < now() - make_interval(days => $1::int)`),
      };
    },
  };
}

export type Repository = ReturnType<typeof createRepository>;
