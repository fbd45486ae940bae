import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log/logger.ts';

function logged(fields: Record<string, unknown>): Record<string, unknown> {
  const lines: string[] = [];
  createLogger({ write: (line) => lines.push(line) }).error('publish failed', fields);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

describe('the JSON logger', () => {
  it("keeps an error's cause chain, with a system error's code", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    const upload = new Error('upload of curated/flows/part-0.parquet failed', { cause: refused });
    const error = new Error('publish failed for 2024-05-01T13', { cause: upload });
    expect(logged({ error }).error).toEqual({
      name: 'Error',
      message: 'publish failed for 2024-05-01T13',
      cause: { name: 'Error', message: 'upload of curated/flows/part-0.parquet failed', cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9000', code: 'ECONNREFUSED' } },
    });
  });

  it('writes a cause that is not an Error as it is, and stops a chain that cycles', () => {
    expect(logged({ error: new Error('refused', { cause: { status: 503 } }) }).error).toEqual({ name: 'Error', message: 'refused', cause: { status: 503 } });
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    let depth = 0;
    for (let node = logged({ error: a }).error as { cause?: unknown } | undefined; node; node = node.cause as { cause?: unknown } | undefined) depth++;
    expect(depth).toBe(9);
  });
});

describe('the human logger', () => {
  it('writes level, UTC time, message and key=value fields on one line, redacted like the JSON lines', () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'human', write: (line) => lines.push(line), redact: (text) => text.replaceAll('s3cr3t-token', '…redacted…') }).child({ hour: '2024-05-01T13' });
    logger.warn('alert sink failed', { sink: 'https://hooks.example/s3cr3t-token', attempts: 3, error: new Error('refused', { cause: new Error('ECONNRESET') }), note: 'two words' });
    logger.debug('not shown at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^WARN {2}\d\d:\d\d:\d\d alert sink failed {2}hour=2024-05-01T13 sink=https:\/\/hooks\.example\/…redacted… attempts=3 error="refused: ECONNRESET" note="two words"\n$/);
  });
});
