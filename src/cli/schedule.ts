import { ScheduleNotFoundError } from '@temporalio/client';
import { loadConfig } from '../config';
import { fromMs, HOUR_MS, IntervalError, toIso, workflowIdFor } from '../interval';
import { intervalSearchAttributes } from '../search-attributes';
import type { SparkifyEtlInput } from '../types';
import {
  catchUp,
  lastActionStatus,
  lateDataScheduleLine,
  lateDataWatcherInput,
  ScheduleSpanError,
  upsertLateDataSchedule,
  upsertSchedule,
  type ScheduleSettings,
} from '../schedule';
import { describeSchedule, endPassed, scheduleChanges, settingSources } from '../schedule-describe';
import { allChecks, checkSource, checkWarehouse } from '../preflight';
import { printable } from '../printable';
import { configuredRunInput } from '../run-input';
import { connectClient } from '../temporal';
import { scheduleBound, shortIso } from '../times';
import { dialectFor } from '../warehouse/dialect';
import { defineCommand, parseCommandLine, UsageError, usageText } from './args';

const USAGE = `usage: npm run schedule -- COMMAND [options]

commands:
  up [--catchup]   create the hourly schedule, or update it to the current settings, then print each setting
                   that changed, with where its value came from (minute: :15 -> :00 (SCHEDULE_MINUTE unset)), or
                   "no change": an up without --minute goes back to SCHEDULE_MINUTE, without --source to the
                   worker's SOURCE_URL. Without SCHEDULE_START or --start it keeps its start; without SCHEDULE_END
                   or --end, its end; --end none, or SCHEDULE_END=none, removes the end. --catchup (always on
                   creation) runs every hour from the start to now, like Airflow's catchup=True. Also creates or
                   updates the late-data watcher's schedule (<deployment>-late-data, every LATE_DATA_EVERY), or
                   deletes it when LATE_DATA_EVERY is 0 or off
  pause [--note T] stop starting runs, the late-data watcher's cycles too
  unpause          start both again
  trigger          start one run now, with the schedule's input: the last whole hour (at 14:20 it loads
                   13:00-14:00) under the hour's workflow id; a run of that hour in progress is joined
  describe         show both schedules: start and end as given, the first run's time, what each run is started
                   with, policies, recent and next runs, and the late-data watcher's last cycle with what it did
  delete           remove the schedule (runs already started are not affected)

options for up: --start TIME --end TIME|none --minute M --source URL (override SCHEDULE_START, SCHEDULE_END,
SCHEDULE_MINUTE, SOURCE_URL). The first run loads the hour that begins at the start, the last the hour that ends
at the end. TIME is UTC, on a whole hour, as etl's --from and --to take it: 2026-11-25T05:00Z; a date,
2026-11-25 (--start its start, --end its end: that day's last hour is loaded); or now (the start of the current
hour), today, yesterday, tomorrow, moved by hours or days: today-2d, now+3h, tomorrow+1d. SCHEDULE_START and
SCHEDULE_END take the same. Settings: SCHEDULE_ID, SCHEDULE_CATCHUP_WINDOW, SCHEDULE_OVERLAP, TASK_QUEUE.
up and trigger first check, as the worker does, that the warehouse answers with its schema migrated and that
the source is readable (exit 1 naming the setting otherwise); --skip-checks when this machine cannot reach them.`;

export const command = defineCommand(module, USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    catchup: { type: 'boolean' },
    start: { type: 'string' },
    end: { type: 'string' },
    minute: { type: 'string' },
    source: { type: 'string' },
    note: { type: 'string' },
    'skip-checks': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(usageText(USAGE));
  const [command, ...extra] = positionals;
  const commands = ['up', 'pause', 'unpause', 'trigger', 'describe', 'delete'];
  if (!command || !commands.includes(command)) throw new UsageError(`give one command: ${commands.join(', ')}`);
  if (extra.length) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);

  const config = loadConfig();
  const settings: ScheduleSettings = { ...config.schedule, taskQueue: config.taskQueue, deployment: config.deployment };
  const nowMs = Date.now();
  try {
    // An empty --start or --end (an unset shell variable, `--end "$END"`) is refused, not read as "keep it".
    if (values.start !== undefined) settings.startAt = toIso(scheduleBound(values.start, '--start', nowMs, 'start'));
    if (values.end?.trim().toLowerCase() === 'none') settings.endAt = null;
    else if (values.end !== undefined) settings.endAt = toIso(scheduleBound(values.end, '--end', nowMs, 'end'));
  } catch (err) {
    if (err instanceof IntervalError) throw new UsageError(err.message);
    throw err;
  }
  const sources = settingSources(config.env, values);
  if (settings.startAt && settings.endAt && settings.startAt >= settings.endAt) {
    const given = (option: string, text: string | undefined, setting: string) =>
      text ? `${option} ${text.trim()}` : setting;
    throw new UsageError(
      `the start ${shortIso(Date.parse(settings.startAt))} (${given('--start', values.start, 'SCHEDULE_START')}) ` +
        `must be before the end ${shortIso(Date.parse(settings.endAt))} (${given('--end', values.end, 'SCHEDULE_END')})`,
    );
  }
  if (values.minute !== undefined) {
    const m = Number(values.minute);
    if (!Number.isInteger(m) || m < 0 || m > 59) throw new UsageError('--minute must be 0..59');
    settings.minute = m;
  }
  settings.input = { ...configuredRunInput(config), ...(values.source ? { source: values.source } : {}) };

  if ((command === 'up' || command === 'trigger') && !values['skip-checks']) {
    // Runs that could only fail are not scheduled: the warehouse and the source must answer first.
    await allChecks([
      checkWarehouse(config.warehouse.url, dialectFor(config.warehouse.dialect)),
      checkSource(values.source ?? config.sourceUrl),
    ]);
  }
  const { client, connection } = await connectClient();
  try {
    const handle = client.schedule.getHandle(settings.id);
    switch (command) {
      case 'up': {
        const result = await upsertSchedule(client, settings).catch((err: unknown) => {
          if (err instanceof ScheduleSpanError) throw new UsageError(err.message);
          throw err;
        });
        console.log(`${result.outcome} schedule ${settings.id} (task queue ${settings.taskQueue})`);
        for (const line of scheduleChanges(result.before, result.after, sources)) console.log(line);
        // What an update kept of the schedule's span because this `up` named none: said, with how to change it.
        const updated = result.outcome === 'updated';
        const keptStart = updated && !settings.startAt ? result.after.start : undefined;
        const keptEnd = updated && settings.endAt === undefined ? result.after.end : undefined;
        if (keptStart)
          console.log(`  kept its start ${shortIso(Date.parse(keptStart))} (SCHEDULE_START or --start changes it)`);
        if (keptEnd) {
          console.log(
            `  kept its end ${shortIso(Date.parse(keptEnd))} (SCHEDULE_END or --end changes it; --end none removes it)`,
          );
        }
        const late = config.lateData;
        const watcher = await upsertLateDataSchedule(
          client,
          late,
          settings.taskQueue,
          lateDataWatcherInput(late, config.deployment, settings.input),
        );
        console.log(lateDataScheduleLine(late, watcher));
        let caught = false;
        if (result.outcome === 'created' || values.catchup) {
          // without SCHEDULE_START (or --start), from the start the schedule kept; up to the end it kept
          const startAt = settings.startAt ?? keptStart;
          if (!startAt) {
            console.log('no SCHEDULE_START: nothing to catch up; runs start at the next hour');
          } else {
            const range = await catchUp(client, { ...settings, startAt, endAt: settings.endAt ?? keptEnd }, new Date());
            caught = !!range?.runs;
            console.log(
              range
                ? `catching up ${range.runs} run(s) scheduled from ${shortIso(range.from)} to ${shortIso(range.to)}`
                : 'nothing to catch up',
            );
          }
        }
        const passed = endPassed(result.after, Date.now());
        if (passed) console.error(`warning: ${passed}${caught ? ' (the catch-up above runs the hours up to it)' : ''}`);
        break;
      }
      // Pause and unpause act on the late-data watcher's schedule too: a pause for warehouse maintenance must
      // stop its re-runs as well. Describe shows both.
      case 'pause':
      case 'unpause': {
        const note = values.note ?? `${command}d from the command line`;
        const act = (h: typeof handle) => (command === 'pause' ? h.pause(note) : h.unpause(note));
        await act(handle);
        const watcher = await act(client.schedule.getHandle(config.lateData.scheduleId)).then(
          () => true,
          (err: unknown) => {
            if (err instanceof ScheduleNotFoundError) return false;
            throw err;
          },
        );
        console.log(
          `${command}d ${settings.id}` +
            (watcher
              ? ` and the late-data watcher's ${config.lateData.scheduleId}`
              : ' (no late-data watcher schedule)'),
        );
        break;
      }
      case 'trigger': {
        // The last whole hour under its own id, with the schedule's input: what the schedule's run of that hour
        // would be. (Temporal's own trigger names the run by the trigger's time, so backfill and etl would not
        // find it by the hour's id, and the hour would have two.) A run of that hour in progress is joined.
        const described = await handle.describe().catch((err: unknown) => {
          if (err instanceof ScheduleNotFoundError) return undefined;
          throw err;
        });
        if (!described) {
          console.error(`no schedule ${printable(settings.id)} to trigger (schedule up creates it)`);
          return 1;
        }
        const { action } = described;
        const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
        const hour = fromMs({ startMs: endMs - HOUR_MS, endMs });
        const workflowId = workflowIdFor(hour, config.deployment);
        const input = (action.args?.[0] ?? {}) as SparkifyEtlInput;
        const running = await client.workflow
          .getHandle(workflowId)
          .describe()
          .then(
            (d) => d.status.name === 'RUNNING',
            () => false,
          );
        await client.workflow.start('SparkifyEtl', {
          taskQueue: action.taskQueue,
          workflowId,
          args: [{ ...input, start: hour.start, end: hour.end }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: intervalSearchAttributes(hour),
        });
        console.log(
          `${running ? 'joined the run in progress of' : 'started'} ${workflowId}: the last whole hour, ` +
            `${shortIso(Date.parse(hour.start))} .. ${shortIso(endMs)}, with ${settings.id}'s input`,
        );
        break;
      }
      case 'describe': {
        const notFound = (err: unknown) => {
          if (err instanceof ScheduleNotFoundError) return undefined;
          throw err;
        };
        // No hourly schedule: said as the watcher's absence is (not the server's "workflow not found"), exit 1.
        const hourly = await handle.describe().catch(notFound);
        console.log(
          hourly ? describeSchedule(hourly) : `no schedule ${printable(settings.id)} (schedule up creates it)`,
        );
        const watcher = await client.schedule.getHandle(config.lateData.scheduleId).describe().catch(notFound);
        console.log(
          watcher
            ? describeSchedule(watcher, await lastActionStatus(client, watcher))
            : `late-data watcher: no schedule ${config.lateData.scheduleId} (LATE_DATA_EVERY=0, or schedule up not run)`,
        );
        if (!hourly) return 1;
        break;
      }
      case 'delete':
        await handle.delete();
        console.log(`deleted ${settings.id}`);
        break;
    }
  } finally {
    await connection.close();
  }
});
