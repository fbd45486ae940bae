import { hoursOverlapping, type SourceDefinition } from './source-definition.ts';

/**
 * Agent spool segments: `raw/agent/dt=YYYY-MM-DD/hour=HH/vm=<vm>/<vm>-<seq>.ndjson.gz`, where
 * dt/hour is the hour the segment was closed, so the window lists one folder per hour it overlaps.
 */
const KEY_PATTERN = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/vm=[^/]+\/[^/]+\.ndjson(?:\.gz)?$/;

export const agentSource: SourceDefinition = {
  sourceType: 'agent',
  configKey: 'agent',
  cliName: 'agent',
  staging: () => 'lines',
  listPrefixes: (sourcePrefix, window) =>
    hoursOverlapping(window.from, window.to).map((hour) => {
      const iso = hour.toISOString();
      return `${sourcePrefix}dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`;
    }),
  inWindow: (object) => KEY_PATTERN.test(object.key),
};
