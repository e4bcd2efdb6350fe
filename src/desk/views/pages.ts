/**
 * The desk's pages, rendered on the server from read-model rows (Sidekiq's Web UI, bull-board): one stylesheet,
 * one small script for polling and confirmations, forms that POST with a CSRF token. Pure: rows in, HTML out.
 */
import type { AlertDetail, AlertListRow, AuditRow, FacetCounts, QueueFilter, TimelineRow } from '../repository';
import { ALERT_TYPES, DECISIONS } from '../repository';
import { compromiseDetails, reasonTexts } from '../records';
import { html, raw, type Html } from './html';
import { histogram, sparkline, stackedBars, TYPE_COLOURS } from './charts';

export interface Viewer {
  name: string;
  role: string;
  csrf: string;
}

const BASE = '/desk';

export function fmtTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? '—' : d.toISOString().replace('T', ' ').slice(0, 19);
}

const fmtScore = (s: number | null | undefined) => (s === null || s === undefined ? '—' : s.toFixed(3));
const fmtAmount = (a: number | null, currency: string | null) => (a === null ? '—' : `${a.toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency ?? ''}`);
const pct = (part: number, whole: number) => (whole === 0 ? '—' : `${((100 * part) / whole).toFixed(1)} %`);

/** A card as the desk shows it: the masked PAN when there is one, else the token's ends. Never more. */
export function cardLabel(token: string | null, maskedPan: string | null): string {
  if (maskedPan) return maskedPan;
  if (!token) return '—';
  return `${token.slice(0, 8)}…${token.slice(-4)}`;
}

const scoreClass = (s: number) => (s >= 0.85 ? 'score hi' : s >= 0.5 ? 'score mid' : 'score lo');
const badge = (kind: string, text: string) => html`<span class="badge ${kind}">${text}</span>`;
const typeBadge = (type: string) => html`<span class="type" style="border-color:${TYPE_COLOURS[type] ?? '#888'};color:${TYPE_COLOURS[type] ?? '#555'}">${type}</span>`;

function layout(title: string, viewer: Viewer | undefined, active: string, body: Html): Html {
  const nav = (href: string, name: string, label: string) => html`<a href="${BASE}${href}" class="${active === name ? 'active' : ''}">${label}</a>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${viewer ? html`<meta name="csrf-token" content="${viewer.csrf}">` : ''}
<title>${title} · card-shield desk</title>
<link rel="stylesheet" href="${BASE}/static/desk.css"></head>
<body>
<header class="top">
  <a class="brand" href="${BASE}/"><span class="logo">◆</span> card-shield <span class="sub">fraud desk</span></a>
  ${viewer ? html`<nav>${nav('/', 'queue', 'Alert queue')}${nav('/points', 'points', 'Compromised points')}${nav('/rules', 'rules', 'Rules')}</nav>
  <form class="who" method="post" action="${BASE}/logout"><input type="hidden" name="_csrf" value="${viewer.csrf}">
    <span>${viewer.name}</span> <span class="role">${viewer.role}</span> <button class="link" type="submit">Sign out</button></form>` : ''}
</header>
<main>${body}</main>
<script src="${BASE}/static/desk.js" defer></script>
</body></html>`;
}

export function loginPage(options: { next?: string; error?: string }): Html {
  return layout(
    'Sign in',
    undefined,
    '',
    html`<form class="login card" method="post" action="${BASE}/login">
  <h1>Sign in</h1>
  <p class="muted">The fraud desk needs a signed-in analyst or viewer.</p>
  ${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
  <label>User <input name="user" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <input type="hidden" name="next" value="${options.next ?? `${BASE}/`}">
  <button type="submit" class="primary">Sign in</button>
</form>`,
  );
}

export function queryString(filter: QueueFilter, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filter, ...extra })) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

export interface QueueView {
  filter: QueueFilter;
  rows: AlertListRow[];
  counts: FacetCounts;
  reasonCodes: string[];
  perHour: Array<{ hour: Date; type: string; n: number }>;
  scores: number[];
  thresholds: { review: number; block: number };
  version: string;
  page: number;
  pageSize: number;
}

/** The part of the queue the script swaps in when new alerts arrive. */
export function queueList(v: QueueView): Html {
  const facet = (name: keyof QueueFilter, values: readonly string[], counts: Record<string, number>, all = 'all') =>
    html`<div class="facet"><span class="facet-name">${name}</span>
      <a class="${(name === 'status' ? v.filter.status === 'all' : !v.filter[name]) ? 'on' : ''}" href="${BASE}/${queryString({ ...v.filter, [name]: name === 'status' ? 'all' : undefined })}">${all} <b>${Object.values(counts).reduce((a, b) => a + b, 0)}</b></a>
      ${values.map((value) => html`<a class="${v.filter[name] === value || (name === 'status' && !v.filter.status && value === 'open') ? 'on' : ''}" href="${BASE}/${queryString({ ...v.filter, [name]: value })}">${value} <b>${counts[value] ?? 0}</b></a>`)}</div>`;
  const pages = Math.max(1, Math.ceil(v.counts.total / v.pageSize));
  return html`<div id="queue" data-version="${v.version}">
  <div class="facets">
    ${facet('type', ALERT_TYPES, v.counts.type)}
    ${facet('action', ['review', 'block'], v.counts.action)}
    ${facet('status', ['open', 'closed', 'superseded'], v.counts.status)}
  </div>
  <table class="grid queue">
    <thead><tr><th class="num">Score</th><th>Action</th><th>Type</th><th>Event time (UTC)</th><th>Card / point</th><th>Reasons</th><th>Status</th></tr></thead>
    <tbody>
    ${v.rows.length === 0 ? html`<tr><td colspan="7" class="empty">No alerts match these filters.</td></tr>` : ''}
    ${v.rows.map(
      (r) => html`<tr data-alert="${r.alert_id}">
      <td class="num"><span class="${scoreClass(r.score)}">${fmtScore(r.score)}</span></td>
      <td>${badge(r.action, r.action)}</td>
      <td>${typeBadge(r.type)}</td>
      <td class="mono">${fmtTime(r.event_time)}</td>
      <td class="mono"><a href="${BASE}/alerts/${encodeURIComponent(r.alert_id)}">${r.type === 'compromised-point' ? `${r.point_kind ?? 'point'} ${r.point_id ?? '—'}` : cardLabel(r.card_token, r.masked_pan)}</a></td>
      <td class="codes">${r.reason_codes.slice(0, 4).map((c) => html`<code>${c}</code> `)}${r.reason_codes.length > 4 ? html`<span class="muted">+${r.reason_codes.length - 4}</span>` : ''}</td>
      <td>${r.disposition ? badge('done', r.disposition) : badge(r.status, r.status)}</td></tr>`,
    )}
    </tbody>
  </table>
  <div class="pager"><span class="muted">${v.counts.total.toLocaleString('en')} alerts · page ${v.page} of ${pages}</span>
    ${v.page > 1 ? html`<a href="${BASE}/${queryString(v.filter, { page: String(v.page - 1) })}">← newer</a>` : ''}
    ${v.page < pages ? html`<a href="${BASE}/${queryString(v.filter, { page: String(v.page + 1) })}">more →</a>` : ''}</div>
</div>`;
}

export function queuePage(viewer: Viewer, v: QueueView): Html {
  const hours = [...new Set(v.perHour.map((r) => r.hour.toISOString()))].sort();
  const slots = fillHours(hours);
  const series: Record<string, number[]> = {};
  for (const type of ALERT_TYPES) series[type] = slots.map((h) => v.perHour.find((r) => r.type === type && r.hour.toISOString() === h)?.n ?? 0);
  const f = v.filter;
  const option = (value: string, selected: string | undefined, label = value) => html`<option value="${value}" ${selected === value ? raw('selected') : ''}>${label}</option>`;
  return layout(
    'Alert queue',
    viewer,
    'queue',
    html`<section class="charts">
  <div class="card chart-card"><h2>Alerts per hour by type <span class="muted">(last 24 h of event time)</span></h2>
    ${raw(stackedBars(slots.map((h) => h.slice(11, 13) + 'h'), series, { title: 'Alerts per hour by type' }))}
    <div class="legend">${ALERT_TYPES.map((t) => html`<span><i style="background:${TYPE_COLOURS[t]}"></i>${t}</span>`)}</div></div>
  <div class="card chart-card"><h2>Score distribution <span class="muted">(every decision of the last 24 h, √ scale)</span></h2>
    ${raw(histogram(v.scores, { title: 'Score distribution', marks: [{ at: v.thresholds.review, label: 'review' }, { at: v.thresholds.block, label: 'block' }] }))}</div>
</section>
<form class="filters card" method="get" action="${BASE}/">
  <label>Type <select name="type"><option value="">all</option>${ALERT_TYPES.map((t) => option(t, f.type))}</select></label>
  <label>Action <select name="action"><option value="">all</option>${option('review', f.action)}${option('block', f.action)}</select></label>
  <label>Reason <select name="reason"><option value="">any</option>${v.reasonCodes.map((c) => option(c, f.reason))}</select></label>
  <label>From <input type="datetime-local" name="from" value="${f.from ?? ''}"></label>
  <label>Until <input type="datetime-local" name="until" value="${f.until ?? ''}"></label>
  <label>Status <select name="status">${option('open', f.status ?? 'open')}${option('closed', f.status)}${option('superseded', f.status)}${option('all', f.status)}</select></label>
  <button type="submit">Filter</button> <a href="${BASE}/">Reset</a>
  <span class="live" id="live" aria-live="polite">live</span>
</form>
${queueList(v)}`,
  );
}

/** Every hour from the first to the last seen (an hour without alerts is still a slot). */
function fillHours(hours: string[]): string[] {
  if (hours.length === 0) return [];
  const out: string[] = [];
  for (let t = Date.parse(hours[0]); t <= Date.parse(hours[hours.length - 1]); t += 3_600_000) out.push(new Date(t).toISOString());
  return out;
}

export interface AlertView {
  alert: AlertDetail;
  timeline: TimelineRow[];
  cardAlerts: AlertDetail[];
  labels: Array<{ transaction_id: string; label: string; source: string | null; reported_at: Date }>;
  audit: AuditRow[];
  exposed: AlertListRow[];
  notice?: string;
}

const DECISION_LABELS: Record<string, string> = {
  fraud: 'Confirm fraud',
  genuine: 'Genuine',
  reissue: 'Reissue card',
  monitor: 'Monitor',
  dismiss: 'Dismiss',
  confirm: 'Confirm compromise',
};

function decisionForm(viewer: Viewer, alert: AlertDetail): Html {
  const choices = Object.keys(DECISIONS[alert.type] ?? {});
  if (choices.length === 0) return html``;
  if (viewer.role !== 'analyst') return html`<p class="muted">Viewers see alerts; analysts decide them.</p>`;
  return html`<form class="decide" method="post" action="${BASE}/alerts/${encodeURIComponent(alert.alert_id)}/decision">
  <input type="hidden" name="_csrf" value="${viewer.csrf}">
  ${choices.map((c) => html`<button type="submit" name="decision" value="${c}" class="${c === 'fraud' || c === 'reissue' || c === 'confirm' ? 'danger' : c === 'genuine' ? 'ok' : ''}">${DECISION_LABELS[c] ?? c}</button>`)}
</form>`;
}

function compromiseFacts(body: Record<string, unknown>): Html {
  const d = compromiseDetails(body);
  const rows: Array<[string, string]> = [];
  if (d.point) rows.push(['Point', `${d.point.kind} ${d.point.id}`]);
  if (d.shape) rows.push(['Shape', d.shape === 'common-point' ? 'common point of purchase (victims’ cards all passed here)' : d.shape === 'fraud-at-point' ? 'fraud at the point itself' : d.shape]);
  if (d.window) rows.push(['Breach window', `${fmtTime(d.window.from)} → ${fmtTime(d.window.until)}`]);
  if (d.evidence) {
    const e = d.evidence;
    if (e.victims !== undefined) rows.push(['Victims', `${e.victims} of ${e.visitors ?? '?'} cards seen (expected ${e.expected?.toFixed(2) ?? '?'})`]);
    if (e.pValue !== undefined) rows.push(['p-value', e.pValue < 1e-4 ? e.pValue.toExponential(2) : e.pValue.toFixed(4)]);
  }
  if (d.exposedAt) rows.push(['Card at the point', fmtTime(d.exposedAt)]);
  if (d.recommendation) rows.push(['Recommendation', d.recommendation]);
  if (d.findingId) rows.push(['Finding', `${d.findingId}${d.revision !== undefined ? ` rev. ${d.revision}` : ''}${d.supersedes ? ` (supersedes ${d.supersedes})` : ''}`]);
  if (rows.length === 0) return html``;
  return html`<dl class="facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

export function alertPage(viewer: Viewer, v: AlertView): Html {
  const a = v.alert;
  const reasons = reasonTexts(a.body);
  const model = typeof a.body.model === 'object' && a.body.model !== null ? (a.body.model as { version?: string; score?: number }) : undefined;
  const exposures = v.cardAlerts.filter((c) => c.type === 'card-at-risk');
  return layout(
    `Alert ${a.alert_id}`,
    viewer,
    'queue',
    html`<p class="crumbs"><a href="${BASE}/">Alert queue</a> › alert <span class="mono">${a.alert_id}</span></p>
${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
<section class="alert-head card">
  <div class="head-score"><span class="${scoreClass(a.score)} big">${fmtScore(a.score)}</span><span class="muted">final score</span></div>
  <div class="head-main">
    <h1>${typeBadge(a.type)} ${badge(a.action, a.action)} ${a.type === 'compromised-point' ? `${a.point_kind ?? 'point'} ${a.point_id ?? ''}` : `card ${cardLabel(a.card_token, a.masked_pan)}`}</h1>
    <p class="muted">event ${fmtTime(a.event_time)} · created ${fmtTime(a.created_at)} · rules ${String(a.body.rulesVersion ?? '—')}${model ? ` · model ${model.version ?? ''} score ${fmtScore(model.score)}` : ''}${a.transaction_id ? html` · transaction <span class="mono">${a.transaction_id}</span>` : ''}</p>
    <p>Status: ${a.disposition ? html`${badge('done', a.disposition)} by ${a.disposed_by ?? '?'} at ${fmtTime(a.disposed_at)}` : badge(a.status, a.status)}</p>
  </div>
  <div class="head-actions">${decisionForm(viewer, a)}</div>
</section>
<section class="cols">
  <div class="card"><h2>Why</h2>
    <ul class="reasons">${reasons.map((r) => html`<li><code>${r.code}</code> ${r.text}</li>`)}${reasons.length === 0 ? html`<li class="muted">No reasons given.</li>` : ''}</ul>
    ${compromiseFacts(a.body)}
  </div>
  <div class="card"><h2>Decisions on this alert</h2>
    ${v.audit.length === 0 ? html`<p class="muted">None yet.</p>` : html`<table class="grid"><thead><tr><th>When (UTC)</th><th>Who</th><th>Decision</th><th>Label sent</th></tr></thead><tbody>
      ${v.audit.map((e) => html`<tr><td class="mono">${fmtTime(e.at)}</td><td>${e.user_name} <span class="muted">${e.user_role}</span></td><td>${e.decision}</td><td>${e.label ?? '—'}</td></tr>`)}</tbody></table>`}
  </div>
</section>
${a.type === 'compromised-point' ? exposedTable(v.exposed) : ''}
${a.card_token ? html`<section class="card"><h2>Card timeline <span class="muted">${cardLabel(a.card_token, a.masked_pan)} · newest first · <a href="${BASE}/cards/${a.card_token}">whole card</a></span></h2>
  ${timelineTable(v.timeline, a.transaction_id)}</section>
<section class="cols">
  <div class="card"><h2>Exposures to compromised points</h2>${exposures.length === 0 ? html`<p class="muted">No card-at-risk alert for this card.</p>` : html`<table class="grid"><thead><tr><th>Point</th><th>At the point</th><th>Recommendation</th><th>Alert</th></tr></thead><tbody>
    ${exposures.map((e) => {
      const d = compromiseDetails(e.body);
      return html`<tr><td class="mono">${d.point ? `${d.point.kind} ${d.point.id}` : (e.point_id ?? '—')}</td><td class="mono">${fmtTime(d.exposedAt ?? null)}</td><td>${d.recommendation ?? '—'}</td><td><a href="${BASE}/alerts/${encodeURIComponent(e.alert_id)}">${e.status}</a></td></tr>`;
    })}</tbody></table>`}</div>
  <div class="card"><h2>Labels</h2>${v.labels.length === 0 ? html`<p class="muted">No label on this card’s transactions.</p>` : html`<table class="grid"><thead><tr><th>Transaction</th><th>Label</th><th>Source</th><th>Reported (UTC)</th></tr></thead><tbody>
    ${v.labels.map((l) => html`<tr><td class="mono">${l.transaction_id}</td><td>${badge(l.label, l.label)}</td><td>${l.source ?? '—'}</td><td class="mono">${fmtTime(l.reported_at)}</td></tr>`)}</tbody></table>`}</div>
</section>` : ''}`,
  );
}

function exposedTable(rows: AlertListRow[]): Html {
  return html`<section class="card"><h2>Exposed cards warned <span class="muted">(card-at-risk alerts at this point)</span></h2>
  ${rows.length === 0 ? html`<p class="muted">No card-at-risk alert names this point.</p>` : html`<table class="grid"><thead><tr><th class="num">Score</th><th>Card</th><th>Event time</th><th>Status</th></tr></thead><tbody>
  ${rows.map((r) => html`<tr><td class="num"><span class="${scoreClass(r.score)}">${fmtScore(r.score)}</span></td><td class="mono"><a href="${BASE}/alerts/${encodeURIComponent(r.alert_id)}">${cardLabel(r.card_token, r.masked_pan)}</a></td><td class="mono">${fmtTime(r.event_time)}</td><td>${r.disposition ? badge('done', r.disposition) : badge(r.status, r.status)}</td></tr>`)}
  </tbody></table>`}</section>`;
}

export function timelineTable(rows: TimelineRow[], highlight: string | null): Html {
  if (rows.length === 0) return html`<p class="muted">No decisions stored for this card (the desk reads them from SCORES_TOPIC).</p>`;
  return html`<table class="grid timeline"><thead><tr><th>Time (UTC)</th><th class="num">Amount</th><th>Merchant</th><th>Terminal</th><th>MCC</th><th>Country</th><th>Channel</th><th class="num">Score</th><th>Action</th><th>Reasons / rule hits</th><th>Label</th></tr></thead><tbody>
  ${rows.map(
    (r) => html`<tr class="${r.transaction_id === highlight ? 'this' : ''}" ${r.transaction_id === highlight ? raw('aria-current="true"') : ''} data-transaction="${r.transaction_id}">
    <td class="mono">${fmtTime(r.event_time)}</td><td class="num">${fmtAmount(r.amount, r.currency)}</td><td>${r.merchant_id ?? '—'}</td><td>${r.terminal_id ?? '—'}</td><td>${r.mcc ?? '—'}</td><td>${r.country ?? '—'}</td><td>${r.channel ?? '—'}</td>
    <td class="num"><span class="${scoreClass(r.score)}">${fmtScore(r.score)}</span></td><td>${r.action === 'allow' ? html`<span class="muted">allow</span>` : badge(r.action, r.action)}</td>
    <td class="codes">${r.reason_codes.map((c) => html`<code>${c}</code> `)}</td><td>${r.label ? badge(r.label, `${r.label}${r.label_source ? ` · ${r.label_source}` : ''}`) : ''}</td></tr>`,
  )}</tbody></table>`;
}

export function cardPage(viewer: Viewer, token: string, timeline: TimelineRow[], alerts: AlertDetail[]): Html {
  return layout(
    'Card',
    viewer,
    'queue',
    html`<p class="crumbs"><a href="${BASE}/">Alert queue</a> › card <span class="mono">${cardLabel(token, alerts.find((a) => a.masked_pan)?.masked_pan ?? null)}</span></p>
<section class="card"><h2>Alerts on this card</h2><table class="grid"><thead><tr><th class="num">Score</th><th>Type</th><th>Event time</th><th>Status</th></tr></thead><tbody>
${alerts.map((a) => html`<tr><td class="num"><span class="${scoreClass(a.score)}">${fmtScore(a.score)}</span></td><td>${typeBadge(a.type)}</td><td class="mono"><a href="${BASE}/alerts/${encodeURIComponent(a.alert_id)}">${fmtTime(a.event_time)}</a></td><td>${a.disposition ? badge('done', a.disposition) : badge(a.status, a.status)}</td></tr>`)}
</tbody></table></section>
<section class="card"><h2>Timeline</h2>${timelineTable(timeline, null)}</section>`,
  );
}

export function pointsPage(viewer: Viewer, points: Array<AlertDetail & { exposed_cards: number }>, status: string): Html {
  const tab = (s: string) => html`<a class="${status === s ? 'on' : ''}" href="${BASE}/points?status=${s}">${s}</a>`;
  return layout(
    'Compromised points',
    viewer,
    'points',
    html`<h1>Compromised points <span class="muted">terminals and merchants where cards were likely stolen</span></h1>
<div class="facets"><div class="facet"><span class="facet-name">status</span>${tab('open')}${tab('closed')}${tab('all')}</div></div>
${points.length === 0 ? html`<p class="card muted">No compromised-point alert${status === 'all' ? '' : ` with status ${status}`}.</p>` : ''}
<div class="points">
${points.map((p) => {
  const d = compromiseDetails(p.body);
  const e = d.evidence ?? {};
  const ratio = e.victims !== undefined && e.expected ? e.victims / e.expected : undefined;
  return html`<article class="card point">
  <header><h2>${typeBadge('compromised-point')} <span class="mono">${d.point ? `${d.point.kind} ${d.point.id}` : `${p.point_kind ?? 'point'} ${p.point_id ?? '—'}`}</span></h2>
    <span class="${scoreClass(p.score)}">${fmtScore(p.score)}</span></header>
  <div class="point-body">
    <div class="stat"><b>${e.victims ?? '—'}</b><span>victims</span></div>
    <div class="stat"><b>${e.visitors ?? '—'}</b><span>cards seen</span></div>
    <div class="stat"><b>${e.expected !== undefined ? e.expected.toFixed(1) : '—'}</b><span>expected</span></div>
    <div class="stat"><b>${ratio !== undefined ? `×${ratio.toFixed(1)}` : '—'}</b><span>excess</span></div>
    <div class="stat"><b>${e.pValue !== undefined ? (e.pValue < 1e-4 ? e.pValue.toExponential(1) : e.pValue.toFixed(4)) : '—'}</b><span>p-value</span></div>
    <div class="stat"><b>${p.exposed_cards}</b><span>exposed cards warned</span></div>
  </div>
  <p class="muted">${d.shape ?? 'shape not given'} · breach window ${d.window ? `${fmtTime(d.window.from)} → ${fmtTime(d.window.until)}` : 'not given'}${d.findingId ? ` · finding ${d.findingId} rev. ${d.revision ?? '?'}` : ''}</p>
  <footer><a href="${BASE}/alerts/${encodeURIComponent(p.alert_id)}">Evidence and exposed cards →</a>
   ${p.disposition ? badge('done', `${p.disposition} by ${p.disposed_by ?? '?'}`) : decisionForm(viewer, p)}</footer>
</article>`;
})}
</div>`,
  );
}

export interface RulesView {
  rulesVersion: string;
  versionsSeen: Array<{ rules_version: string; n: number; last: Date }>;
  days: string[];
  hits: Map<string, number[]>;
  outcomes: Array<{ code: string; hits: number; alerts: number; fraud: number; genuine: number }>;
}

export function rulesPage(viewer: Viewer, v: RulesView): Html {
  const codes = [...new Set([...v.outcomes.map((o) => o.code), ...v.hits.keys()])];
  return layout(
    'Rules',
    viewer,
    'rules',
    html`<h1>Rules <span class="muted">in force: <span class="mono">${v.rulesVersion}</span></span></h1>
${v.versionsSeen.length > 1 ? html`<p class="muted">Versions in the stored decisions: ${v.versionsSeen.map((s) => html`<span class="mono">${s.rules_version}</span> (${s.n.toLocaleString('en')}, last ${fmtTime(s.last)}) `)}</p>` : ''}
<section class="card"><p class="muted">Per reason code over every stored decision (alerts alone without SCORES_TOPIC): hits, how many of them alerted, and judged = hits with a label
(chargeback, customer, analyst) or an analyst’s decision on the alert. Precision = fraud ÷ judged; false-positive ratio = genuine per fraud.</p>
<table class="grid rules"><thead><tr><th>Reason / rule</th><th>Hits per day (${v.days[0] ?? ''} → ${v.days[v.days.length - 1] ?? ''})</th><th class="num">Hits</th><th class="num">Alerted</th><th class="num">Judged</th><th class="num">Fraud</th><th class="num">Genuine</th><th class="num">Precision</th><th class="num">FP ratio</th></tr></thead><tbody>
${codes.map((code) => {
  const o = v.outcomes.find((x) => x.code === code) ?? { hits: 0, alerts: 0, fraud: 0, genuine: 0 };
  const series = v.hits.get(code) ?? [];
  const judged = o.fraud + o.genuine;
  return html`<tr><td><code>${code}</code></td><td>${raw(sparkline(series, { title: `${code} hits per day` }))} <span class="muted">${series.reduce((a, b) => a + b, 0)}</span></td>
    <td class="num">${o.hits.toLocaleString('en')}</td><td class="num">${o.alerts.toLocaleString('en')}</td><td class="num">${judged}</td><td class="num">${o.fraud}</td><td class="num">${o.genuine}</td>
    <td class="num">${pct(o.fraud, judged)}</td><td class="num">${o.fraud === 0 ? (o.genuine > 0 ? '∞' : '—') : `${(o.genuine / o.fraud).toFixed(2)} : 1`}</td></tr>`;
})}
 ${codes.length === 0 ? html`<tr><td colspan="9" class="empty">No rule hits stored yet.</td></tr>` : ''}
</tbody></table></section>`,
  );
}

export function errorPage(viewer: Viewer | undefined, status: number, message: string): Html {
  return layout(`${status}`, viewer, '', html`<section class="card"><h1>${status}</h1><p>${message}</p><p><a href="${BASE}/">Back to the queue</a></p></section>`);
}
