import type { ObjectStore } from '../storage/object-store.ts';
import type { AlertPayload } from './alert-payload.ts';

/**
 * What each sink has been sent, kept in the object store next to the alerts, so a rerun or a
 * backfill on any machine sees it:
 *
 *   alerts/_delivery/<sink>/delivered/dt=YYYY-MM-DD/hour=HH.json   {"delivered": {"<alert_id>": "<delivered_at>"}}
 *   alerts/_delivery/<sink>/pending/YYYY-MM-DDTHH.json             {"alerts": [<AlertPayload>, …]}
 *
 * Delivered ids are per hour (hours are independent, so parallel backfills of different hours
 * never write the same object). The pending object exists only while an hour has alerts the sink
 * has not accepted; every run retries all pending hours, so nothing is lost while a sink is down.
 */
export const DELIVERY_ROOT = 'alerts/_delivery';

export function deliveredKey(sink: string, hour: string): string {
  return `${DELIVERY_ROOT}/${sink}/delivered/dt=${hour.slice(0, 10)}/hour=${hour.slice(11, 13)}.json`;
}

export function pendingPrefix(sink: string): string {
  return `${DELIVERY_ROOT}/${sink}/pending/`;
}

export function pendingKey(sink: string, hour: string): string {
  return `${pendingPrefix(sink)}${hour}.json`;
}

export class DeliveryState {
  constructor(
    private readonly store: ObjectStore,
    readonly sink: string,
  ) {}

  async delivered(hour: string): Promise<Record<string, string>> {
    const bytes = await this.store.getBytes(deliveredKey(this.sink, hour));
    if (!bytes) return {};
    return (JSON.parse(bytes.toString('utf8')) as { delivered: Record<string, string> }).delivered;
  }

  async markDelivered(hour: string, ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    const delivered = await this.delivered(hour);
    for (const id of ids) delivered[id] ??= at.toISOString();
    await this.store.putBytes(deliveredKey(this.sink, hour), JSON.stringify({ sink: this.sink, hour, delivered }), { contentType: 'application/json' });
  }

  /** Hours with pending alerts, oldest first. */
  async pendingHours(): Promise<string[]> {
    const hours: string[] = [];
    for await (const object of this.store.list(pendingPrefix(this.sink))) {
      const match = /(\d{4}-\d{2}-\d{2}T\d{2})\.json$/.exec(object.key);
      if (match) hours.push(match[1]!);
    }
    return hours.sort();
  }

  async pending(hour: string): Promise<AlertPayload[]> {
    const bytes = await this.store.getBytes(pendingKey(this.sink, hour));
    return bytes ? (JSON.parse(bytes.toString('utf8')) as { alerts: AlertPayload[] }).alerts : [];
  }

  async setPending(hour: string, alerts: readonly AlertPayload[]): Promise<void> {
    if (alerts.length === 0) await this.store.delete(pendingKey(this.sink, hour));
    else await this.store.putBytes(pendingKey(this.sink, hour), JSON.stringify({ sink: this.sink, hour, alerts }), { contentType: 'application/json' });
  }
}
