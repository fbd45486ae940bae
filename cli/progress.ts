/**
 * A progress bar on stderr for long work, drawn only when stderr is a terminal so that logs
 * and CI output stay clean: `[#####.....] 12/61 staging objects  3.1/s  eta 16s`.
 */
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  const started = Date.now();
  let drawn = false;
  return {
    update(done, total) {
      const width = 30;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const eta = rate > 0 ? Math.round((total - done) / rate) : 0;
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}  ${rate.toFixed(1)}/s  eta ${eta}s`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}
