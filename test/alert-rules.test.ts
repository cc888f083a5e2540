/**
 * The Prometheus alert rules in deploy/ (no promtool here: Debian's prometheus package is too big for the
 * set-up): parsed, checked for the rule-file shape Prometheus loads, and checked to use only the metrics
 * the worker exports, so a renamed metric cannot leave a rule silently matching nothing.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './support/processes';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const file = parse(readFileSync(path.join(ROOT, 'deploy/prometheus-alerts.yaml'), 'utf8')) as {
  groups: { name: string; rules: Rule[] }[];
};
const rules = file.groups.flatMap((g) => g.rules);

/** Every sparkify_* series the code creates, as Prometheus exposes it (counters get `_total` from their name). */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/['`](sparkify_[a-z_${}]+)['`]/g)) names.add(m[1]!);
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return names;
}

test('the rule file has the shape Prometheus loads: named groups of alerts with expr, severity and summary', () => {
  expect(Object.keys(file)).toEqual(['groups']);
  for (const g of file.groups) {
    expect(g.name).toMatch(/^[\w-]+$/);
    expect(Array.isArray(g.rules)).toBe(true);
  }
  expect(rules.map((r) => r.alert)).toEqual([
    'SparkifyRunFailed',
    'SparkifyFreshnessBehindSla',
    'SparkifyHoursFailed',
    'SparkifyHoursStale',
  ]);
  for (const r of rules) {
    expect(Object.keys(r).every((k) => ['alert', 'expr', 'for', 'labels', 'annotations'].includes(k))).toBe(true);
    expect(r.alert).toMatch(/^[A-Za-z_][\w]*$/);
    expect(typeof r.expr).toBe('string');
    if (r.for !== undefined) expect(r.for).toMatch(/^(\d+(ms|s|m|h|d|w|y))+$/);
    expect(['warning', 'critical']).toContain(r.labels?.severity);
    expect(r.annotations?.summary).toBeTruthy();
  }
});

test('every expression is balanced and uses only metrics the worker exports', () => {
  const exported = exportedMetrics();
  for (const r of rules) {
    let depth = 0;
    for (const ch of r.expr.replace(/"[^"]*"/g, '')) {
      if ('({['.includes(ch)) depth++;
      if (')}]'.includes(ch)) depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    const used = [...r.expr.matchAll(/\bsparkify_\w+/g)].map((m) => m[0]);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect([r.alert, name, exported.has(name)]).toEqual([r.alert, name, true]);
  }
});

test('alerts for a failed run, freshness behind the SLA, and hours failed or stale for more than 30 minutes', () => {
  const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));
  expect(byName.SparkifyRunFailed!.expr).toContain('sparkify_runs_total{status=~"failed|failed_checks"}');
  expect(byName.SparkifyFreshnessBehindSla!.expr).toContain(
    'sparkify_freshness_lag_seconds > sparkify_freshness_sla_seconds',
  );
  expect(byName.SparkifyHoursFailed).toMatchObject({ expr: 'max(sparkify_failed_hours) > 0', for: '30m' });
  expect(byName.SparkifyHoursStale).toMatchObject({ expr: 'max(sparkify_stale_hours) > 0', for: '30m' });
});
