import { html, raw } from '../../../src/desk/views/html';
import { histogram, sparkline, stackedBars } from '../../../src/desk/views/charts';
import { cardLabel, timelineTable } from '../../../src/desk/views/pages';
import { facetCounts, filterSql } from '../../../src/desk/repository';
import { parseFilter } from '../../../src/desk/routes';
import { splitStatements } from '../../../src/desk/migrate';

describe('desk views', () => {
  it('escapes every interpolated value unless it is markup the desk made', () => {
    const merchant = '<img src=x onerror="alert(1)">';
    expect(html`<td>${merchant}</td>${raw('<b>ok</b>')}`.value).toBe('<td>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</td><b>ok</b>');
    expect(html`${['a', '&', null, undefined, false]}`.value).toBe('a&amp;');
    const row = timelineTable(
      [{ transaction_id: 't"1', event_time: new Date(0), amount: 5, currency: 'KZT', merchant_id: '<script>', terminal_id: null, mcc: null, country: null, channel: null, score: 0.5, model_score: null, action: 'review', reason_codes: ['A<'], alert_id: null, label: null, label_source: null }],
      't"1',
    ).value;
    expect(row).not.toContain('<script>');
    expect(row).toContain('class="this"');
  });

  it('shows a card by its masked PAN, or by the ends of its token', () => {
    expect(cardLabel('f'.repeat(60) + '1234', '400000******0002')).toBe('400000******0002');
    expect(cardLabel('abcdef01' + 'f'.repeat(52) + '1234', null)).toBe('abcdef01…1234');
  });

  it('draws a bar per non-empty value, thresholds on the histogram, and a point per day', () => {
    const bars = stackedBars(['00h', '01h'], { transaction: [2, 0], 'card-at-risk': [1, 3] }, { title: 't' });
    expect(bars.match(/<rect/g)).toHaveLength(3);
    expect(bars).toContain('<title>01h card-at-risk: 3</title>');
    const hist = histogram([5, 0, 1, 0], { title: 'h', marks: [{ at: 0.5, label: 'review' }] });
    expect(hist.match(/<rect/g)).toHaveLength(4);
    expect(hist).toContain('>review</text>');
    expect(sparkline([1, 2, 3], { title: 's' })).toMatch(/points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
  });
});

describe('desk queue filters', () => {
  it('keeps only known values from the query string', () => {
    expect(parseFilter({ type: 'card-at-risk', action: 'drop table', reason: 'AMOUNT_SPIKE', from: '2026-01-01T10:00', until: 'never', status: 'all' })).toEqual({
      type: 'card-at-risk',
      reason: 'AMOUNT_SPIKE',
      from: '2026-01-01T10:00',
      status: 'all',
    });
  });

  it('builds parameterised SQL, open alerts by default, and leaves a facet out of its own count', () => {
    expect(filterSql({})).toEqual({ where: 'WHERE status = $1', params: ['open'] });
    expect(filterSql({ type: 'transaction', reason: "x'; --" }, ['type'])).toEqual({ where: 'WHERE status = $1 AND reason_codes @> ARRAY[$2]::text[]', params: ['open', "x'; --"] });
    expect(filterSql({ status: 'all' }).where).toBe('');
  });

  it('splits a migration into statements and keeps a function body whole', () => {
    const sql = "-- a comment\nCREATE TABLE a (x int);\nCREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'no';\nEND\n$$;\nCREATE INDEX i ON a (x);\n";
    expect(splitStatements(sql)).toEqual(['CREATE TABLE a (x int);', "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'no';\nEND\n$$;", 'CREATE INDEX i ON a (x);']);
  });
});

describe('desk facet counts', () => {
  it('counts each facet under every filter but its own', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const groups = [
      { type: 'transaction', action: 'block', status: 'open', n: 5, at },
      { type: 'transaction', action: 'review', status: 'open', n: 3, at },
      { type: 'card-at-risk', action: 'review', status: 'open', n: 2, at: new Date('2026-01-02T00:00:00Z') },
      { type: 'transaction', action: 'block', status: 'closed', n: 4, at },
    ];
    expect(facetCounts(groups, { type: 'transaction' })).toEqual({
      total: 8,
      type: { transaction: 8, 'card-at-risk': 2 },
      action: { block: 5, review: 3 },
      status: { open: 8, closed: 4 },
      latest: at,
    });
    expect(facetCounts(groups, { status: 'all', action: 'review' }).total).toBe(5);
  });
});
