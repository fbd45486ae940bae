/**
 * A progress line on stderr for long work, drawn only on a terminal (and not with --quiet) so
 * that logs and CI output stay clean: `[#####.....] 12/61 hours  3.1/s  eta 16s`, with what else
 * the work counts after the label (`1.2 MB of 4.5 MB` while staging).
 */
export interface Progress {
  update(done: number, total: number, label?: string, detail?: string): void;
  done(): void;
}

export function createProgress(label: string, context: { showProgress?: boolean; stderr: (text: string) => void }): Progress {
  if (!context.showProgress) return { update: () => {}, done: () => {} };
  let started = Date.now();
  let drawn = false;
  return {
    update(done, total, current = label, detail) {
      const width = 30;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const eta = rate > 0 ? Math.round((total - done) / rate) : 0;
      // \x1b[K clears what a longer previous line left behind.
      context.stderr(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${current}${detail ? `  ${detail}` : ''}  ${rate.toFixed(1)}/s  eta ${eta}s\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) context.stderr('\n');
      drawn = false;
      // The next line (the next phase) measures its own rate.
      started = Date.now();
    },
  };
}
