/** What the capacity report needs to know of an at-risk VM or link to advise on it. */
export interface CapacityRisk {
  scope: 'vm' | 'segment_pair';
  name: string;
  status: 'ok' | 'warning' | 'critical' | 'unknown';
  sku: string | null;
  owner: string | null;
  short_term_critical_at: string | null;
  days_to_critical: number | null;
}

/**
 * One recommended action per at-risk VM or link, in words its owner can act on: how urgent (now,
 * within the day, by the projected date) and what (a larger size than the SKU, or link capacity).
 */
export function recommendCapacityAction(risk: CapacityRisk): string {
  const when =
    risk.status === 'critical' ? 'now'
    : risk.short_term_critical_at !== null ? `before ${risk.short_term_critical_at}`
    : risk.days_to_critical !== null ? `within ${risk.days_to_critical} day(s)`
    : 'at the next review';
  const who = risk.owner ? ` (owner: ${risk.owner})` : ' (no owner in the inventory)';
  if (risk.scope === 'vm') {
    const size = risk.sku ? `a larger size than ${risk.sku}` : 'a larger size';
    return `resize ${risk.name} to ${size} or spread its load over more VMs, ${when}${who}`;
  }
  return `raise the capacity of link ${risk.name} or move traffic off it, ${when}${who}`;
}
