import type { GeneratedFlow } from './flow-lake.ts';

/**
 * Realistic background traffic for a small estate with labelled anomalies injected on its last
 * day. The background holds what makes naive detectors cry wolf: a monitoring host that touches
 * 60 destinations every half hour, web servers answering internet clients (responses fan out),
 * new internet client addresses every hour, a day/night cycle, noisy volumes and a nightly
 * backup ten times the daytime volume. Deterministic (seeded).
 */
export type AnomalyKind = 'fan_out' | 'port_scan' | 'new_talker' | 'volume_spike';

export interface InjectedEvent {
  kind: AnomalyKind;
  /** Event hour, `YYYY-MM-DDTHH`. */
  hour: string;
  src_ip: string;
  /** Segment pair the event's traffic belongs to (`app -> data`). */
  pair: string;
  description: string;
}

interface Vm {
  id: string;
  name: string;
  ip: string;
  segment: string;
}

const vm = (name: string, ip: string, segment: string): Vm => ({ id: `i-${name}`, name, ip, segment });
export const WEB = [1, 2, 3, 4].map((n) => vm(`web-${n}`, `10.0.1.${10 + n}`, 'web'));
export const APP = [1, 2, 3, 4, 5, 6].map((n) => vm(`app-${n}`, `10.0.2.${10 + n}`, 'app'));
export const DATA = [1, 2, 3].map((n) => vm(`data-${n}`, `10.0.3.${10 + n}`, 'data'));
export const BATCH = [1, 2].map((n) => vm(`batch-${n}`, `10.0.5.${10 + n}`, 'batch'));
export const MON = vm('mon-1', '10.0.9.10', 'mgmt');
const SWITCHES = [1, 2, 3, 4].map((n) => vm(`sw-${n}`, `10.0.9.${n}`, 'mgmt'));
export const ALL_VMS = [...WEB, ...APP, ...DATA, ...BATCH, MON];

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LabelledTraffic {
  flows: GeneratedFlow[];
  events: InjectedEvent[];
  /** First hour of the labelled (evaluation) day. */
  evalDay: Date;
  firstHour: Date;
}

export function generateLabelledTraffic(options: { start?: string; days?: number; seed?: number } = {}): LabelledTraffic {
  const random = mulberry32(options.seed ?? 7);
  const days = options.days ?? 8;
  const firstHour = new Date(`${options.start ?? '2024-03-01'}T00:00:00Z`);
  const evalDay = new Date(firstHour.getTime() + (days - 1) * 86_400_000);
  const flows: GeneratedFlow[] = [];
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const ephemeral = () => 32768 + Math.floor(random() * 28000);
  const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '');

  const connect = (hourMs: number, minute: number, src: Vm | string, dst: Vm | string, port: number, bytes: number, extra: Partial<GeneratedFlow> = {}, response = true) => {
    const start = hourMs + minute * 60_000 + Math.floor(random() * 50_000);
    const srcVm = typeof src === 'string' ? undefined : src;
    const dstVm = typeof dst === 'string' ? undefined : dst;
    const srcIp = srcVm?.ip ?? (src as string);
    const dstIp = dstVm?.ip ?? (dst as string);
    const sport = ephemeral();
    const duration = 5_000 + Math.floor(random() * 50_000);
    const common = { start_at: iso(start), end_at: iso(start + duration), protocol: 6, source_type: 'agent' };
    const endpoint = (side: 'src' | 'dst', v: Vm | undefined) =>
      v
        ? { [`${side}_vm_id`]: v.id, [`${side}_vm_name`]: v.name, [`${side}_segment`]: v.segment, [`${side}_is_public`]: false }
        : { [`${side}_vm_id`]: null, [`${side}_vm_name`]: null, [`${side}_segment`]: 'internet', [`${side}_is_public`]: true };
    const observer = srcVm?.id ?? dstVm?.id ?? null;
    flows.push({ ...common, src_ip: srcIp, src_port: sport, dst_ip: dstIp, dst_port: port, bytes: Math.round(bytes * 0.3), observer_vm_id: observer, ...endpoint('src', srcVm), ...endpoint('dst', dstVm), ...extra });
    if (response && extra.action !== 'reject') {
      flows.push({ ...common, src_ip: dstIp, src_port: port, dst_ip: srcIp, dst_port: sport, bytes: Math.round(bytes * 0.7), observer_vm_id: observer, ...endpoint('src', dstVm), ...endpoint('dst', srcVm) });
    }
  };
  const diurnal = (hour: number) => (hour >= 6 && hour <= 18 ? 0.4 + 0.6 * Math.sin((Math.PI * (hour - 6)) / 12) : 0.4);
  const noisy = (bytes: number) => bytes * Math.exp(0.25 * gaussian());
  const publicIp = () => `${[81, 91, 145, 176, 188][Math.floor(random() * 5)]}.${1 + Math.floor(random() * 250)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 250)}`;

  for (let hourMs = firstHour.getTime(); hourMs < evalDay.getTime() + 86_400_000; hourMs += 3_600_000) {
    const hour = new Date(hourMs).getUTCHours();
    const load = diurnal(hour);
    WEB.forEach((web, i) => {
      for (const app of [APP[i % 6]!, APP[(i + 1) % 6]!]) for (let k = 0; k < 4; k++) connect(hourMs, k * 15 + Math.floor(random() * 14), web, app, 8080, noisy(400_000 * load));
    });
    APP.forEach((app, j) => {
      for (let k = 0; k < 4; k++) connect(hourMs, k * 15 + Math.floor(random() * 14), app, DATA[j % 3]!, 5432, noisy(600_000 * load));
      for (let k = 0; k < 4; k++) connect(hourMs, k * 15 + Math.floor(random() * 14), app, DATA[(j + 1) % 3]!, 6379, noisy(100_000 * load));
      for (let k = 0; k < 2; k++) connect(hourMs, k * 30 + Math.floor(random() * 29), app, `52.216.1.${j + 1}`, 443, noisy(300_000 * load));
    });
    BATCH.forEach((batch) => {
      for (let k = 0; k < 2; k++) connect(hourMs, k * 30 + Math.floor(random() * 29), batch, DATA[0]!, 5432, noisy(200_000));
      // The nightly backup: every day at 02:00, far above any daytime hour (not a spike: it is the same hour every day).
      if (hour === 2) for (let k = 0; k < 6; k++) connect(hourMs, k * 10, batch, DATA[1]!, 5432, noisy(40_000_000));
    });
    // Monitoring sweeps every VM and switch on three ports, twice an hour: 60 destinations in 3 minutes.
    for (const sweep of [0, 30]) {
      for (const target of [...ALL_VMS.filter((v) => v !== MON), ...SWITCHES]) {
        for (const port of [22, 161, 9100]) connect(hourMs, sweep + Math.floor(random() * 3), MON, target, port, 2_000, {}, false);
      }
    }
    // Internet clients of the web tier: new addresses every hour.
    const clients = Math.round(60 * load);
    for (let c = 0; c < clients; c++) connect(hourMs, Math.floor(random() * 60), publicIp(), WEB[Math.floor(random() * 4)]!, 443, noisy(80_000));
  }

  const events: InjectedEvent[] = [];
  const at = (hour: number) => evalDay.getTime() + hour * 3_600_000;
  const label = (hour: number) => new Date(at(hour)).toISOString().slice(0, 13);
  const inject = (event: Omit<InjectedEvent, 'hour'> & { hourOfDay: number }, traffic: (hourMs: number) => void) => {
    const { hourOfDay, ...rest } = event;
    events.push({ ...rest, hour: label(hourOfDay) });
    traffic(at(hourOfDay));
  };

  // Fan-out: a compromised host sweeping the network for SMB or SSH.
  for (const [hourOfDay, src, count, port] of [[3, APP[1]!, 120, 445], [11, APP[4]!, 55, 22], [19, BATCH[1]!, 150, 445]] as const) {
    inject({ kind: 'fan_out', hourOfDay, src_ip: src.ip, pair: `${src.segment} -> internal`, description: `${src.name} sweeps ${count} addresses on ${port}` }, (hourMs) => {
      for (let n = 0; n < count; n++) connect(hourMs, 20 + Math.floor((n / count) * 3), src, `10.0.${1 + (n % 5)}.${30 + Math.floor(n / 5)}`, port, 300, { action: 'reject', dst_segment: 'unknown', dst_is_public: false }, false);
    });
  }
  // Port scans: an internet scanner on one web server, an insider on a database.
  for (const [hourOfDay, src, dst, ports] of [[5, '45.95.147.10', WEB[1]!, 200], [13, APP[3]!, DATA[2]!, 45], [21, '193.32.162.7', WEB[3]!, 22]] as const) {
    const srcIp = typeof src === 'string' ? src : src.ip;
    inject({ kind: 'port_scan', hourOfDay, src_ip: srcIp, pair: `${typeof src === 'string' ? 'internet' : src.segment} -> ${dst.segment}`, description: `${srcIp} probes ${ports} ports of ${dst.name}` }, (hourMs) => {
      for (let n = 0; n < ports; n++) connect(hourMs, 40 + Math.floor((n / ports) * 2), src, dst, n < 20 ? [21, 23, 25, 53, 110, 135, 139, 445, 1433, 1521, 3306, 3389, 5900, 6379, 8000, 8443, 9200, 11211, 27017, 5000][n]! : 1000 + n, 120, { action: 'reject' }, false);
    });
  }
  // New talkers: pairs the estate has never seen, quiet (a few flows, little data).
  for (const [hourOfDay, src, dst, port] of [[8, APP[2]!, DATA[1]!, 22], [15, BATCH[0]!, APP[0]!, 8080], [22, WEB[2]!, DATA[0]!, 5432]] as const) {
    inject({ kind: 'new_talker', hourOfDay, src_ip: src.ip, pair: `${src.segment} -> ${dst.segment}`, description: `${src.name} reaches ${dst.name}:${port} for the first time` }, (hourMs) => {
      for (let k = 0; k < 3; k++) connect(hourMs, 10 + k * 7, src, dst, port, 20_000);
    });
  }
  // Volume spikes on pairs and sources that talk every hour.
  for (const [hourOfDay, src, dst, port, bytes] of [[10, APP[0]!, DATA[0]!, 5432, 8_000_000], [16, BATCH[1]!, DATA[0]!, 5432, 1_600_000], [23, APP[5]!, DATA[1]!, 6379, 4_000_000]] as const) {
    inject({ kind: 'volume_spike', hourOfDay, src_ip: src.ip, pair: `${src.segment} -> ${dst.segment}`, description: `${src.name} moves ${bytes / 1e6} MB to ${dst.name}` }, (hourMs) => {
      for (let k = 0; k < 6; k++) connect(hourMs, 5 + k * 9, src, dst, port, bytes / 6);
    });
  }
  return { flows, events, evalDay, firstHour };
}
