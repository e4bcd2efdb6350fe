import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { configFields } from '../../../src/config/schema';

const dir = join(__dirname, '..', '..', '..', 'k8s');
const documents = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => ({ file, doc: doc.toJSON() })));
const byKind = (kind: string) => documents.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const knownVariables = new Set(Object.values(configFields).map((f) => f.env));

const validators: Record<string, (doc: object) => { validate(): void }> = {
  ConfigMap: (d) => new ConfigMap(d as never),
  Service: (d) => new Service(d as never),
  Deployment: (d) => new Deployment(d as never),
  PodDisruptionBudget: (d) => new PodDisruptionBudget(d as never),
  ScaledObject: (d) => new ScaledObject(d as never),
  ServiceMonitor: (d) => new ServiceMonitor(d as never),
  PrometheusRule: (d) => new PrometheusRule(d as never),
};

describe('k8s manifests', () => {
  it.each(documents.map((d) => [d.file, d.doc.kind, d.doc]))('%s (%s) validates against its schema', (_file, kind, doc) => {
    expect(validators[kind as string]).toBeDefined();
    expect(() => validators[kind as string](doc as object).validate()).not.toThrow();
  });

  it('sets only variables the service knows', () => {
    const [configMap] = byKind('ConfigMap');
    const [deployment] = byKind('Deployment');
    const names = [...Object.keys(configMap.data), ...deployment.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)];
    expect(names.filter((n) => !knownVariables.has(n))).toEqual([]);
  });

  it('gives shutdown more time than the service’s own deadline', () => {
    const [configMap] = byKind('ConfigMap');
    const [deployment] = byKind('Deployment');
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(configMap.data.SHUTDOWN_TIMEOUT_MS));
  });

  it('scrapes the port the Service names, and probes the service’s health endpoints', () => {
    const [service] = byKind('Service');
    const [monitor] = byKind('ServiceMonitor');
    const [deployment] = byKind('Deployment');
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    const container = deployment.spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
  });
});

describe('the rules volume', () => {
  it('mounts the shipped rule file and every list file it names, where RULES_FILE expects them', () => {
    const [configMap] = byKind('ConfigMap');
    const [deployment] = byKind('Deployment');
    const volume = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'rules');
    const mount = deployment.spec.template.spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'rules');
    const paths: string[] = volume.configMap.items.map((i: { path: string }) => i.path);
    expect(`${mount.mountPath}/default.yaml`).toBe(configMap.data.RULES_FILE);
    const shipped = readFileSync(join(__dirname, '..', '..', '..', 'rules', 'default.yaml'), 'utf8');
    const listFiles = [...shipped.matchAll(/^\s*file:\s*(\S+)/gm)].map((m) => m[1]);
    expect(listFiles.length).toBeGreaterThan(0);
    for (const file of listFiles) expect(paths).toContain(file);
  });
});
