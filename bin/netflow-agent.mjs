#!/usr/bin/env node
// `netflow-agent`: the compiled agent in dist/ when it is current, else the TypeScript sources through tsx (run-entry.mjs).
import { loadMain } from './run-entry.mjs';

const main = await loadMain('netflow-agent', 'agent/cli.ts');
process.exitCode = await main(process.argv.slice(2));
