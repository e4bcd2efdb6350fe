// `npm run test:alerts`: Prometheus's own tooling on the alerts Kubernetes will load. The PrometheusRule in
// k8s/prometheusrule.yaml wraps plain rule groups in a CRD (spec.groups), which promtool does not read, so the groups
// are extracted to a temporary rule file; then `promtool check rules` validates them and `promtool test rules` runs
// test/alerts/prometheusrule.test.yaml, which fires and clears every alert on synthetic series.
const { execFileSync, spawnSync } = require('node:child_process');
const { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { parse, stringify } = require('yaml');

const root = join(__dirname, '..');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
if (promtool.error || promtool.status !== 0) {
  process.stderr.write('check-alerts: promtool not found: install it (apt-get install prometheus)\n');
  process.exit(1);
}

const resource = parse(readFileSync(join(root, 'k8s', 'prometheusrule.yaml'), 'utf8'));
const groups = resource && resource.spec && resource.spec.groups;
if (!Array.isArray(groups) || groups.length === 0) {
  process.stderr.write('check-alerts: k8s/prometheusrule.yaml has no spec.groups\n');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'card-shield-alerts-'));
try {
  // The test file names its rule file relative to itself: both go into the same folder.
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
  copyFileSync(join(root, 'test', 'alerts', 'prometheusrule.test.yaml'), join(dir, 'prometheusrule.test.yaml'));
  const run = (...args) => execFileSync('promtool', args, { cwd: dir, stdio: 'inherit' });
  run('check', 'rules', 'rules.yaml');
  run('test', 'rules', 'prometheusrule.test.yaml');
} catch (error) {
  process.stderr.write(`check-alerts: ${error.message.split('\n')[0]}\n`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
