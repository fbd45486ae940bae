#!/usr/bin/env node
// `netflow`: the compiled CLI in dist/ when it is current, else the TypeScript sources through tsx (run-entry.mjs).
import { loadMain } from './run-entry.mjs';

const main = await loadMain('netflow', 'cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
