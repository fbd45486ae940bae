import { hourInWindow, hourParts, utcDate, type SourceDefinition } from './source-definition.ts';

/**
 * Agent spool segments: `raw/agent/dt=YYYY-MM-DD/hour=HH/vm=<vm>/<vm>-<seq>.ndjson.gz`, where
 * dt/hour is the hour the segment was closed, so the window lists one folder per hour it overlaps.
 */
const KEY_PATTERN = /dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/vm=[^/]+\/[^/]+\.ndjson(?:\.gz)?$/;
/** The hour folder right below the source prefix (a `dt=` further down the key is only text). */
const HOUR_FOLDER = /^dt=(?<y>\d{4})-(?<m>\d{2})-(?<d>\d{2})\/hour=(?<h>\d{2})\//;

export const agentSource: SourceDefinition = {
  sourceType: 'agent',
  configKey: 'agent',
  cliName: 'agent',
  staging: () => 'lines',
  layouts: [
    {
      name: 'spool',
      steps: [
        {
          date: (hour) => {
            const { y, m, d, h } = hourParts(hour);
            return `dt=${y}-${m}-${d}/hour=${h}/`;
          },
        },
      ],
    },
  ],
  inWindow(object, sourcePrefix, window) {
    if (!object.key.startsWith(sourcePrefix) || !KEY_PATTERN.test(object.key)) return false;
    const g = HOUR_FOLDER.exec(object.key.slice(sourcePrefix.length))?.groups;
    const hour = g ? utcDate(g.y!, g.m!, g.d!, g.h) : undefined;
    return hour !== undefined && hourInWindow(hour, window);
  },
};
