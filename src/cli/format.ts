import { loadModeNote, type SparkifyEtlResult } from '../types';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/** The summary a person reads after a run: rows staged and loaded, checks, timings. */
export function formatSummary(r: SparkifyEtlResult): string {
  const { events, songs } = r.staged;
  const lines = [
    `SparkifyEtl ${r.workflowId}: ${r.interval.start} .. ${r.interval.end}`,
    '',
    table([
      ['step', 'rows', 'ms'],
      [
        `stage events (${events.files} file(s), ${events.linesRead} lines read)`,
        String(events.rowsStaged),
        String(events.durationMs),
      ],
      [
        `stage songs (${songs.filesStaged} new of ${songs.filesSeen} files)`,
        String(songs.songsStaged),
        String(songs.durationMs),
      ],
      ...r.loads.map((l) => {
        const note = loadModeNote(l.table, l.mode);
        return [`load ${l.table} (${l.mode}${note ? `: ${note}` : ''})`, String(l.rowsWritten), String(l.durationMs)];
      }),
    ]),
    '',
    `checks: ${r.checks.filter((c) => c.passed).length}/${r.checks.length} passed`,
    ...r.checks.filter((c) => !c.passed).map((c) => `  FAILED ${c.name}: ${c.detail}`),
  ];
  if (r.warnings.length) lines.push('', ...r.warnings.map((w) => `warning: ${w}`));
  return lines.join('\n');
}
