import type { Config } from '../schemas/config.ts';
import { redactUrl } from '../lib/log/redact.ts';

/**
 * The configuration as `netflow config --dump` prints it: URLs keep scheme and host, but lose what
 * works as a credential — user info and query strings everywhere (basic auth, SAS tokens,
 * presigned signatures), and the path of webhook URLs (Slack, Teams and most chat hooks carry their
 * token in the path). Credentials themselves never live in the file; these are the places a
 * secret can still sit inside a value.
 */
export function redactConfig(config: Config): unknown {
  return redactValue(config, []);
}

function redactValue(value: unknown, keyPath: string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, keyPath));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item, [...keyPath, key])]));
  }
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return redactUrl(value, { path: keyPath[0] === 'alerts' });
  return value;
}
