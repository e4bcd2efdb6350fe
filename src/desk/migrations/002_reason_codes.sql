-- The reason codes seen, for the queue's reason filter: reading them off 100,000 alerts' arrays on every page
-- load cost more than the page's own list; upsertAlerts adds each batch's codes here.
CREATE TABLE reason_codes (
  code text PRIMARY KEY
);
INSERT INTO reason_codes (code) SELECT DISTINCT unnest(reason_codes) FROM alerts ON CONFLICT DO NOTHING;
