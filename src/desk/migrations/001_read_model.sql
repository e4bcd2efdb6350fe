-- The desk's read model: alerts, every decision (the card timelines), labels, and the analysts' audit trail.
-- Card tokens and masked PANs only: a full PAN never reaches these tables. Applied once, in file order, at start;
-- never edited after it ships (a change is a new numbered file).

CREATE TABLE alerts (
  alert_id      text PRIMARY KEY,
  type          text NOT NULL,
  transaction_id text,
  card_token    text,
  masked_pan    text,
  score         double precision NOT NULL,
  action        text NOT NULL,
  reason_codes  text[] NOT NULL DEFAULT '{}',
  event_time    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL,
  -- compromise detection's optional fields, copied out of the JSON for filtering and joins
  point_kind    text,
  point_id      text,
  finding_id    text,
  revision      integer,
  -- the whole message as received, so fields this version does not know are kept
  body          jsonb NOT NULL,
  -- the desk's own state of the alert: open until an analyst decides, superseded by a newer revision
  status        text NOT NULL DEFAULT 'open',
  disposition   text,
  disposed_by   text,
  disposed_at   timestamptz,
  ingested_at   timestamptz NOT NULL DEFAULT now()
);
-- the queue: open alerts, highest score first, newest first
CREATE INDEX alerts_queue ON alerts (status, score DESC, event_time DESC);
CREATE INDEX alerts_event_time ON alerts (event_time DESC);
CREATE INDEX alerts_card ON alerts (card_token, event_time DESC);
CREATE INDEX alerts_point ON alerts (point_id) WHERE point_id IS NOT NULL;
CREATE INDEX alerts_finding ON alerts (finding_id) WHERE finding_id IS NOT NULL;
CREATE INDEX alerts_reasons ON alerts USING gin (reason_codes);
CREATE INDEX alerts_ingested ON alerts (ingested_at);

-- one row per scored transaction (SCORES_TOPIC), the material of a card's timeline and of the rule statistics
CREATE TABLE decisions (
  transaction_id text PRIMARY KEY,
  card_token    text NOT NULL,
  masked_pan    text,
  event_time    timestamptz NOT NULL,
  amount        double precision,
  currency      text,
  merchant_id   text,
  terminal_id   text,
  mcc           text,
  country       text,
  channel       text,
  score         double precision NOT NULL,
  model_score   double precision,
  action        text NOT NULL,
  reason_codes  text[] NOT NULL DEFAULT '{}',
  rules_version text,
  alert_id      text,
  ingested_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_card ON decisions (card_token, event_time DESC);
CREATE INDEX decisions_event_time ON decisions (event_time);
CREATE INDEX decisions_ingested ON decisions (ingested_at);

-- the latest label of each transaction (a chargeback may overturn a customer's report)
CREATE TABLE labels (
  transaction_id text PRIMARY KEY,
  card_token    text NOT NULL,
  label         text NOT NULL,
  source        text,
  reported_at   timestamptz NOT NULL,
  ingested_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX labels_card ON labels (card_token);

-- what analysts decided, who and when: appended, never edited (the trigger below refuses UPDATE and DELETE).
-- One decision per alert and kind: a second click on the same button finds the first row and publishes nothing.
CREATE TABLE audit (
  id            bigserial PRIMARY KEY,
  alert_id      text NOT NULL,
  transaction_id text,
  card_token    text,
  decision      text NOT NULL,
  label         text,
  user_name     text NOT NULL,
  user_role     text NOT NULL,
  note          text,
  at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (alert_id, decision)
);
CREATE INDEX audit_alert ON audit (alert_id);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();

-- sessions live in the database so any desk instance behind a load balancer knows them; only a hash of the token
CREATE TABLE sessions (
  token_hash    text PRIMARY KEY,
  user_name     text NOT NULL,
  user_role     text NOT NULL,
  csrf_token    text NOT NULL,
  expires_at    timestamptz NOT NULL
);
