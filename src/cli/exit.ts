/**
 * Ends the process with `code` once what it printed is written out. process.exit() right after printing loses
 * what Node has not yet handed to a pipe: a pipe takes 64 KiB, the rest waits in Node's buffer, so
 * `sparkify status --json | slow-reader` read 65536 bytes and saw exit 0. A write's callback runs once it, and so
 * every write before it, is done: an empty write at the end of each stream marks the end of its output. Not a
 * plain return with process.exitCode: a handle left open (a Temporal connection, a pg pool) would keep the
 * process running.
 */
export function exitAfterOutput(code: number): void {
  process.exitCode = code;
  let open = 0;
  const done = () => {
    if (--open === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.destroyed || stream.writableLength === 0) continue;
    open++;
    let finished = false;
    const streamDone = () => {
      if (finished) return;
      finished = true;
      done();
    };
    // A reader that went away (`| head -1`: EPIPE) reads nothing more: that stream is done too.
    stream.once('error', streamDone);
    stream.write('', streamDone);
  }
  if (open === 0) process.exit(code);
}
