/**
 * b. Orchestration overhead per run: the workflow's wall time (from the server's history) minus the time spent
 * inside activities, local ones included (timed in the worker by an interceptor). Back to back (as in a
 * backfill), then 1.5 s apart (as scheduled hourly runs are, and then some).
 * BENCH_B_RUNS (default 60; half as many spaced runs); BENCH_B_DUMP=1 prints every run's workflow-task waits.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { SparkifyEtlResult } from '../src/types';
import { dataset, freshDb, median, pct, THIRTY_DAYS, type Bench, type Figures } from './support';

/** When each activity (local ones included) ran, by workflow id, in epoch ms. */
const activitySpans = new Map<string, [number, number][]>();
const now = () => performance.timeOrigin + performance.now();
const timeActivities: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const start = now();
      try {
        return await next(input);
      } finally {
        const id = ctx.info.workflowExecution?.workflowId ?? '';
        activitySpans.set(id, [...(activitySpans.get(id) ?? []), [start, now()]]);
      }
    },
  },
});

/** Total time covered by the spans, overlaps counted once. */
function covered(spans: [number, number][]): number {
  let inside = 0;
  let curS = -1;
  let curE = -1;
  for (const [s, e] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (s > curE) {
      if (curE > curS) inside += curE - curS;
      curS = s;
      curE = e;
    } else curE = Math.max(curE, e);
  }
  if (curE > curS) inside += curE - curS;
  return inside;
}

async function measure(bench: Bench, source: string, label: string, runs: number, pauseMs: number, firstHour: number) {
  const { client } = bench.env;
  const db = await freshDb('bench_b');
  const overhead: number[] = [];
  const wall: number[] = [];
  const steps: Record<string, number[]> = {};
  const ids: [number, string][] = [];
  await bench.withWorker(
    db.pool,
    source,
    async (taskQueue) => {
      await client.workflow.execute('SparkifyEtl', {
        taskQueue,
        workflowId: `bench-b-warm-${Date.now()}`,
        args: [{ start: '2018-11-01T00:00Z', end: '2018-11-01T01:00Z' }],
      });
      for (let h = firstHour; h < firstHour + runs; h++) {
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        const start = new Date(Date.UTC(2018, 10, 2) + h * 3_600_000).toISOString();
        const end = new Date(Date.parse(start) + 3_600_000).toISOString();
        const workflowId = `bench-b-${Date.now()}-${h}`;
        const r = (await client.workflow.execute('SparkifyEtl', {
          taskQueue,
          workflowId,
          args: [{ start, end }],
        })) as SparkifyEtlResult;
        for (const [k, v] of Object.entries(r.durationsMs)) (steps[k] ??= []).push(v);
        ids.push([h, workflowId]);
      }
    },
    { interceptors: [timeActivities] },
  );
  await db.pool.end();
  // Histories are read after the runs: decoding them is the bench's work, not the worker's, and
  // would otherwise load the garbage collector of the process the worker shares.
  for (const [h, workflowId] of ids) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const ev = history.events ?? [];
    const ms = (e: (typeof ev)[number]) => Number(e.eventTime!.seconds) * 1000 + (e.eventTime!.nanos ?? 0) / 1e6;
    const first = ms(ev[0]!);
    const last = ms(ev[ev.length - 1]!);
    const inside = covered(activitySpans.get(workflowId) ?? []);
    if (process.env.BENCH_B_DUMP) {
      // how long each workflow task waited in the server before the worker got it
      const waits: number[] = [];
      let scheduled = first;
      for (const e of ev) {
        if (e.workflowTaskScheduledEventAttributes) scheduled = ms(e);
        if (e.workflowTaskStartedEventAttributes) waits.push(Math.round(ms(e) - scheduled));
      }
      console.log(`${label}: workflow task waits`, h, JSON.stringify(waits));
    }
    wall.push(Math.round(last - first));
    overhead.push(Math.round(last - first - inside));
  }
  if (process.env.BENCH_B_DUMP) console.log(`${label}: overheads`, JSON.stringify(overhead));
  return {
    runs: overhead.length,
    overheadMedianMs: median(overhead),
    overheadP95Ms: pct(overhead, 0.95),
    wallMedianMs: median(wall),
    stepMedianMs: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, median(v)])),
  };
}

export async function benchB(bench: Bench): Promise<Figures> {
  const sample = await dataset('sample30', THIRTY_DAYS);
  const runs = Number(process.env.BENCH_B_RUNS || 60);
  const backToBack = await measure(bench, sample, 'back to back', runs, 0, 1);
  const spaced = await measure(bench, sample, '1.5 s apart', Math.ceil(runs / 2), 1500, 1);
  const b_orchestration_overhead = {
    ...backToBack,
    eventsPerHour: Math.round(THIRTY_DAYS.eventsPerDay / 24),
    target: 'median < 25 ms, back to back and spaced',
    spaced: {
      pauseMs: 1500,
      runs: spaced.runs,
      overheadMedianMs: spaced.overheadMedianMs,
      overheadP95Ms: spaced.overheadP95Ms,
      wallMedianMs: spaced.wallMedianMs,
    },
  };
  console.log('b. orchestration overhead', b_orchestration_overhead);
  return { b_orchestration_overhead };
}
