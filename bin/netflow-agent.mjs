#!/usr/bin/env node
// Runs the TypeScript sources through tsx so that `npx netflow-agent` works in a fresh clone with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../agent/cli.ts');
process.exitCode = await main(process.argv.slice(2));
