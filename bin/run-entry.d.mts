/** Types of run-entry.mjs for the tests that import it. */
export function loadMain(name: string, source: string): Promise<(argv: string[]) => Promise<number>>;
export function freshCompiledEntry(root: string, name: string): string | undefined;
