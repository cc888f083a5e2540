import { ApplicationFailure } from '@temporalio/common';
import { daysTouched, type Interval } from '../interval';
import { eventFileKey, type Source, type SourceFile } from '../source';
import type { MissingFilePolicy } from '../types';
import { rethrowForActivity, SOURCE_FILE_MISSING } from '../warehouse/errors';
import { cancellationSignal, heartbeat } from './progress';

/**
 * The event day files an interval needs, found in the source; a missing one is a warning, or with
 * onMissingFile "fail" a non-retryable failure that names it.
 */
export async function eventFilesFor(
  source: Source,
  interval: Interval,
  onMissingFile: MissingFilePolicy,
): Promise<{ files: SourceFile[]; missingFiles: string[] }> {
  await source.check().catch((err) => rethrowForActivity(err, 'opening the source'));
  const files: SourceFile[] = [];
  const missingFiles: string[] = [];
  for (const day of daysTouched(interval)) {
    // A long interval is many look-ups: stay visibly alive, and stop when the run is cancelled.
    cancellationSignal().throwIfAborted();
    heartbeat({ listing: day });
    const key = eventFileKey(day);
    const found = await source.stat(key).catch((err) => rethrowForActivity(err, 'listing the event files'));
    if (found) files.push(found);
    else missingFiles.push(key);
  }
  if (missingFiles.length > 0 && onMissingFile === 'fail') {
    throw ApplicationFailure.nonRetryable(
      `event file(s) missing from ${source.location}: ${missingFiles.join(', ')} ` +
        `(with --missing warn, or onMissingFile: "warn" in the input, such hours load what other files hold of them ` +
        `and are shown as missing_file, not loaded, until the file arrives)`,
      SOURCE_FILE_MISSING,
    );
  }
  return { files, missingFiles };
}
