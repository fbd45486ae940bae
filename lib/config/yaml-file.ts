import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

/**
 * Reads a YAML (or JSON) file and validates it with a zod schema. Every problem is reported at
 * once, each naming the file, the line and the key path, and saying what was expected.
 */
export class ValidationError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not valid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ValidationError';
  }
}

export async function readYamlFile<Schema extends z.ZodType>(file: string, schema: Schema): Promise<z.output<Schema>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ValidationError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  return parseYamlText(file, text, schema);
}

export function parseYamlText<Schema extends z.ZodType>(file: string, text: string, schema: Schema, overlay?: (value: unknown) => unknown): z.output<Schema> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ValidationError(
      file,
      document.errors.map((error) => {
        const position = error.linePos?.[0] ?? (error.pos ? lineCounter.linePos(error.pos[0]) : undefined);
        return `${position ? `line ${position.line}, column ${position.col}: ` : ''}${error.message.split('\n')[0]}`;
      }),
    );
  }
  const raw: unknown = document.toJS() ?? {};
  const value = overlay ? overlay(raw) : raw;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    file,
    result.error.issues.map((issue) => {
      const line = lineOf(document, lineCounter, issue.path);
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
      const unknown = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
      return `${line ? `line ${line}: ` : ''}${where}: ${issue.message}${unknown}`;
    }),
  );
}

function lineOf(document: Document, counter: LineCounter, path: PropertyKey[]): number | undefined {
  let node: unknown = document.contents;
  // Only a key that is in the file has a line; values from defaults or the environment have none.
  let line: number | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value ?? item.key) === String(key));
      if (!pair) break;
      line = rangeLine(pair.key, counter) ?? line;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(key)];
      line = rangeLine(node, counter) ?? line;
    } else {
      break;
    }
  }
  return line;
}

function rangeLine(node: unknown, counter: LineCounter): number | undefined {
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}
