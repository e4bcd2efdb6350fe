/**
 * The Grafana dashboard and the PrometheusRule query only what the service exports: every metric they name is
 * registered by createMetrics (histogram series by their _bucket, _sum and _count), and every label they group or
 * filter by is one of that metric's labels or one Prometheus adds when it scrapes. A renamed metric or label fails
 * here instead of leaving an empty panel or an alert that never fires.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createMetrics } from '../../../src/telemetry/metrics';
import { Telemetry } from '../../../src/telemetry/events';

const dir = join(__dirname, '..', '..', '..', 'k8s');
const dashboard = JSON.parse(readFileSync(join(dir, 'grafana-dashboard.json'), 'utf8'));
const rule = parse(readFileSync(join(dir, 'prometheusrule.yaml'), 'utf8'));
const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));

/** Labels Prometheus attaches to every scraped series (ServiceMonitor target labels), and the histogram bucket bound. */
const TARGET_LABELS = ['namespace', 'pod', 'instance', 'job', 'service', 'container', 'endpoint'];

interface Exported {
  type: string;
  labels: Set<string>;
}

function exportedMetrics(): Map<string, Exported> {
  const metrics = createMetrics(new Telemetry());
  metrics.detach();
  const exported = new Map<string, Exported>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const labelNames = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    exported.set(metric.name, { type: String((metric as unknown as { type: string }).type), labels: new Set(labelNames) });
  }
  return exported;
}

/** The exported metric a series name belongs to (a histogram's _bucket, _sum and _count series), or undefined. */
function metricOf(series: string, exported: Map<string, Exported>): { name: string; metric: Exported } | undefined {
  const direct = exported.get(series);
  if (direct !== undefined) return { name: series, metric: direct };
  const base = series.replace(/_(bucket|sum|count)$/, '');
  const histogram = exported.get(base);
  if (histogram !== undefined && base !== series && histogram.type === 'histogram') return { name: base, metric: histogram };
  return undefined;
}

interface Query {
  where: string;
  expr: string;
  legendFormat?: string;
}

function dashboardQueries(): Query[] {
  const queries: Query[] = [];
  for (const panel of dashboard.panels as Array<{ title: string; targets?: Array<{ expr: string; legendFormat?: string }> }>) {
    for (const target of panel.targets ?? []) queries.push({ where: `panel "${panel.title}"`, expr: target.expr, legendFormat: target.legendFormat });
  }
  return queries;
}

function ruleQueries(): Query[] {
  return (rule.spec.groups as Array<{ rules: Array<{ alert: string; expr: string }> }>).flatMap((group) =>
    group.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
  );
}

const SERIES = /\b((?:cardshield|process|nodejs)_[a-z0-9_]+)\b/g;

describe('the Grafana dashboard', () => {
  const panels = dashboard.panels as Array<{ id: number; type: string; title: string; gridPos: { x: number; w: number; h: number }; datasource?: { uid: string }; targets?: unknown[] }>;

  it('has panels with unique ids, within the 24-column grid, each on the chosen Prometheus with at least one query', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect({ title: panel.title, uid: panel.datasource?.uid }).toEqual({ title: panel.title, uid: '${datasource}' });
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    }
  });

  it('covers what the SREs page on and what the fraud team reads', () => {
    const queried = dashboardQueries().map((q) => q.expr).join('\n');
    for (const metric of ['cardshield_decisions_total', 'cardshield_alerts_total', 'cardshield_dlq_messages_total', 'cardshield_consumer_lag', 'cardshield_consumer_paused', 'cardshield_event_to_decision_seconds_bucket', 'cardshield_redis_errors_total', 'cardshield_rule_hits_total', 'cardshield_model_score_bucket']) {
      expect(queried).toContain(metric);
    }
  });

  it('ships with the manifests as a ConfigMap that Grafana’s sidecar loads', () => {
    const generator = (kustomization.configMapGenerator as Array<{ files: string[]; options: { labels: Record<string, string> } }>).find((g) => g.files.includes('grafana-dashboard.json'));
    expect(generator?.options.labels).toEqual({ grafana_dashboard: '1' });
  });
});

describe.each([
  ['the Grafana dashboard', dashboardQueries],
  ['the PrometheusRule alerts', ruleQueries],
])('%s', (_name, queriesOf) => {
  const exported = exportedMetrics();
  const queries = queriesOf();

  it('names only metrics the service exports', () => {
    const unknown = queries.flatMap((q) => [...q.expr.matchAll(SERIES)].map((m) => m[1]).filter((series) => metricOf(series, exported) === undefined).map((series) => `${q.where}: ${series}`));
    expect(queries.length).toBeGreaterThan(0);
    expect(unknown).toEqual([]);
  });

  it('groups, filters and labels only by labels those metrics have', () => {
    const problems: string[] = [];
    for (const q of queries) {
      const metrics = [...q.expr.matchAll(SERIES)].map((m) => metricOf(m[1], exported)).filter((m) => m !== undefined);
      const known = new Set([...TARGET_LABELS, ...metrics.flatMap((m) => [...m.metric.labels, ...(m.metric.type === 'histogram' ? ['le'] : [])])]);
      const grouped = [...q.expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()));
      const filtered = [...q.expr.matchAll(/[{,]\s*([a-z_]+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
      const legend = [...(q.legendFormat ?? '').matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1]);
      for (const label of [...grouped, ...filtered, ...legend]) if (!known.has(label)) problems.push(`${q.where}: ${label}`);
    }
    expect(problems).toEqual([]);
  });
});
