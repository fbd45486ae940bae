import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discardPartialFiles, ObjectUnreadableError } from '../../lib/staging/stage-lines.ts';

describe("a failed staging's partial files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-discard-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are removed, and the failure is thrown as it was', async () => {
    const staged = path.join(dir, '1.txt');
    await writeFile(staged, 'partial');
    const failure = new ObjectUnreadableError('gzip stream cut off at byte 120');
    await expect(discardPartialFiles([staged, path.join(dir, 'never-written.txt')], failure)).rejects.toBe(failure);
    expect(failure.message).toBe('gzip stream cut off at byte 120');
    await expect(access(staged)).rejects.toThrow(/ENOENT/);
  });

  it("that cannot be removed (a folder in the way) are named in the failure's message, which stays the failure", async () => {
    const staged = path.join(dir, '1.txt');
    const blocked = path.join(dir, '1.typed.txt');
    await writeFile(staged, 'partial');
    await mkdir(path.join(blocked, 'inside'), { recursive: true });
    const failure = new ObjectUnreadableError('gzip stream cut off at byte 120');
    const thrown = await discardPartialFiles([staged, blocked], failure).catch((error: unknown) => error);
    expect(thrown).toBe(failure);
    expect(thrown).toBeInstanceOf(ObjectUnreadableError);
    expect(failure.message).toMatch(new RegExp(`^gzip stream cut off at byte 120 \\(and its partial output could not be removed: ${blocked.replaceAll('.', '\\.')}: `));
    await expect(access(staged)).rejects.toThrow(/ENOENT/);
  });
});
