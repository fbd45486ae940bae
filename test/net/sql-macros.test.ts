import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MACRO_DIR, loadMacroFiles } from '../../lib/net/sql-macros.ts';

describe('loadMacroFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'macros-'));
    await writeFile(path.join(dir, '10_second.sql'), 'CREATE OR REPLACE MACRO b() AS a() + 1;');
    await writeFile(path.join(dir, '00_first.sql'), 'CREATE OR REPLACE MACRO a() AS 1;');
    await writeFile(path.join(dir, 'README.md'), 'not SQL');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('reads the .sql files in filename order, so a file may use macros of the files before it', async () => {
    const files = await loadMacroFiles(dir);
    expect(files).toEqual([
      { file: path.join(dir, '00_first.sql'), sql: 'CREATE OR REPLACE MACRO a() AS 1;' },
      { file: path.join(dir, '10_second.sql'), sql: 'CREATE OR REPLACE MACRO b() AS a() + 1;' },
    ]);
  });

  it('defaults to sql/macros', () => {
    expect(path.relative(process.cwd(), DEFAULT_MACRO_DIR)).toBe(path.join('sql', 'macros'));
  });
});

describe('the IP and Community ID macro files', () => {
  it.each(['00_ip.sql', '10_community_id.sql'])('%s holds only CREATE OR REPLACE MACRO statements', async (name) => {
    const macro = (await loadMacroFiles()).find((file) => path.basename(file.file) === name);
    expect(macro).toBeDefined();
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const statements = await connection.extractStatements(macro!.sql);
      const texts = macro!.sql
        .replace(/--[^\n]*/g, '')
        .split(/;\s*(?:\n|$)/)
        .map((text) => text.trim())
        .filter(Boolean);
      expect(texts.length).toBe(statements.count);
      for (const text of texts) expect(text).toMatch(/^CREATE OR REPLACE MACRO \w+\(/);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
