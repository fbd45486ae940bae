/** What staging accepts of one untrusted raw object before any parser sees it. */
export interface StageLimits {
  /** A longer line is quarantined, not parsed. */
  maxLineBytes: number;
  /** Decompressed size cap per object (decompression bombs). */
  maxDecompressedBytes: number;
  /** Decompressed/compressed ratio cap, checked once past 1 MiB of output. */
  maxCompressionRatio: number;
  /**
   * Past this many rejected lines the object is quarantined whole: each rejected line keeps up to
   * 4 KiB of its text in memory until the run writes the quarantine, so an object made only of bad
   * lines would otherwise grow memory without bound.
   */
  maxRejectedLines: number;
}

export const DEFAULT_STAGE_LIMITS: StageLimits = {
  maxLineBytes: 1024 * 1024,
  maxDecompressedBytes: 8 * 1024 * 1024 * 1024,
  maxCompressionRatio: 1000,
  maxRejectedLines: 10_000,
};

/** The limits from the configuration's `staging` section (schemas/config.ts). */
export function stageLimitsOf(staging: { max_line_bytes: number; max_decompressed_bytes: number; max_compression_ratio: number; max_rejected_lines: number }): StageLimits {
  return {
    maxLineBytes: staging.max_line_bytes,
    maxDecompressedBytes: staging.max_decompressed_bytes,
    maxCompressionRatio: staging.max_compression_ratio,
    maxRejectedLines: staging.max_rejected_lines,
  };
}

export class ObjectUnreadableError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = 'ObjectUnreadableError';
  }
}
