import type { Rule, RulesFile, Selector } from '../../schemas/reference/rules.ts';

/** One line per rule saying what it checks, for `netflow rules check`. */
export function explainSelector(selector: Selector): string {
  const [kind, value] = Object.entries(selector)[0] as [string, unknown];
  if (kind === 'internet') return 'the internet';
  if (kind === 'any') return 'anything';
  return `${kind} ${JSON.stringify(value)}`;
}

function traffic(rule: Rule): string {
  const parts: string[] = [];
  if (rule.protocol !== undefined) parts.push(String(rule.protocol));
  if (rule.ports?.length) parts.push(`port ${rule.ports.join(', ')}`);
  if (rule.direction) parts.push(rule.direction);
  if (rule.action !== 'any') parts.push(`${rule.action}ed flows only`);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

export function explainRule(rule: Rule): string {
  switch (rule.kind) {
    case 'deny':
      return `no traffic from ${explainSelector(rule.from)} to ${explainSelector(rule.to)}${traffic(rule)}`;
    case 'allow_only':
      return `${explainSelector(rule.to)} may be reached only from ${rule.from.map(explainSelector).join(' or ')}${traffic(rule)}`;
    case 'require_known':
      return `every ${rule.scope === 'private' ? 'private ' : ''}endpoint must be a known VM or fall in a known range${traffic(rule)}`;
    case 'threat':
      return `no ${rule.side === 'either' ? '' : `${rule.side === 'src' ? 'source' : 'destination'} `}endpoint on ${rule.lists ? `threat list ${rule.lists.join(', ')}` : 'any threat list'}${traffic(rule)}`;
  }
}

/** Warnings that do not make the file invalid: exceptions already expired, threat lists not configured. */
export function rulesWarnings(file: RulesFile, now: Date, threatListNames: readonly string[] | undefined): string[] {
  const warnings: string[] = [];
  file.rules.forEach((rule, index) => {
    rule.exceptions.forEach((exception, position) => {
      if (Date.parse(exception.expires) <= now.getTime()) {
        warnings.push(`rules.${index}.exceptions.${position}: exception "${exception.reason}" of rule "${rule.id}" expired at ${exception.expires} (it still excuses flows that started before then)`);
      }
    });
    if (rule.kind === 'threat' && threatListNames && threatListNames.length === 0) {
      warnings.push(`rules.${index}: threat rule "${rule.id}" has no threat list to look at (reference.threat_lists is empty)`);
    }
  });
  return warnings;
}
