import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';
import { describeMissing, type MissingTool } from './require-tool.ts';

/**
 * Ends the run with one line per missing tool: what requireTool skipped, and how to install it,
 * so that a green run on a machine without tcpdump or Chromium says what it did not test.
 */
export default class MissingToolsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const byTool = new Map<string, { missing: MissingTool; tests: number; files: Set<string> }>();
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) {
        for (const missing of missingToolsOf(test)) {
          const entry = byTool.get(missing.tool) ?? { missing, tests: 0, files: new Set<string>() };
          entry.tests++;
          entry.files.add(module.relativeModuleId);
          byTool.set(missing.tool, entry);
        }
      }
    }
    for (const { missing, tests, files } of byTool.values()) {
      process.stdout.write(`skipped ${tests} test${tests === 1 ? '' : 's'} in ${files.size} file${files.size === 1 ? '' : 's'}, missing ${describeMissing(missing)}\n`);
    }
  }
}

function missingToolsOf(test: TestCase): MissingTool[] {
  let node: TestCase | TestSuite | TestModule = test;
  for (;;) {
    const tools = node.meta().missingTools;
    if (tools) return tools;
    if (node.type === 'module') return [];
    node = node.parent;
  }
}
