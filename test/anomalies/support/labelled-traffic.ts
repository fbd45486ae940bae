import type { GeneratedFlow } from './flow-lake.ts';
import { seededRandom } from '../../support/seeded-random.ts';

/**
 * Realistic background traffic for a small estate with labelled events injected on its last day:
 * fan-out, horizontal and vertical scans, new talkers, volume spikes and slow exfiltration,
 * `eventsPerKind` of each, each in an hour of its own. The background holds what makes naive
 * detectors cry wolf: a monitoring host that touches 57 (host, port) destinations every half hour,
 * web servers answering internet clients (responses fan out), new internet client addresses every
 * hour, a day/night cycle, noisy volumes and a nightly backup far above any daytime hour.
 * Deterministic (seeded).
 */
export type AnomalyKind = 'fan_out' | 'host_sweep' | 'port_scan' | 'new_talker' | 'volume_spike' | 'slow_exfiltration';
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['fan_out', 'host_sweep', 'port_scan', 'new_talker', 'volume_spike', 'slow_exfiltration'];

export interface InjectedEvent {
  kind: AnomalyKind;
  /** First and last hour of the event, `YYYY-MM-DDTHH` (the same for all but slow exfiltration). */
  hour: string;
  until: string;
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
/** Reaches COLD_START_HOSTS hosts in the second hour of the lake, before any detector has history. */
export const COLD_START_SOURCE = DATA[0]!;
const COLD_START_HOSTS = 60;

export interface LabelledTraffic {
  flows: GeneratedFlow[];
  events: InjectedEvent[];
  /** First hour of the labelled (evaluation) day. */
  evalDay: Date;
  firstHour: Date;
}

export function generateLabelledTraffic(options: { start?: string; days?: number; seed?: number; eventsPerKind?: number } = {}): LabelledTraffic {
  const random = seededRandom(options.seed ?? 7);
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
    flows.push({
      ...common,
      src_ip: srcIp,
      src_port: sport,
      dst_ip: dstIp,
      dst_port: port,
      bytes: Math.round(bytes * 0.3),
      observer_vm_id: observer,
      ...endpoint('src', srcVm),
      ...endpoint('dst', dstVm),
      ...extra,
    });
    if (response && extra.action !== 'reject') {
      flows.push({
        ...common,
        src_ip: dstIp,
        src_port: port,
        dst_ip: srcIp,
        dst_port: sport,
        bytes: Math.round(bytes * 0.7),
        observer_vm_id: observer,
        ...endpoint('src', dstVm),
        ...endpoint('dst', srcVm),
      });
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

  // The first hour of the lake: a deployment tool inventories 60 hosts on mixed ports. Nobody has history yet, so this is
  // no finding (cold start) — it is not an event, and no test may see it alerted.
  for (let n = 0; n < COLD_START_HOSTS; n++)
    connect(firstHour.getTime() + 3_600_000, 10 + Math.floor(n / 20), COLD_START_SOURCE, `10.0.${1 + (n % 5)}.${200 + Math.floor(n / 5)}`, [22, 443, 5985][n % 3]!, 500, {}, false);

  const events: InjectedEvent[] = [];
  const at = (hour: number) => evalDay.getTime() + hour * 3_600_000;
  const label = (hour: number) => new Date(at(hour)).toISOString().slice(0, 13);
  const inject = (event: Omit<InjectedEvent, 'hour' | 'until'> & { hourOfDay: number; hours?: number }, traffic: (hourMs: number) => void) => {
    const { hourOfDay, hours = 1, ...rest } = event;
    events.push({ ...rest, hour: label(hourOfDay), until: label(hourOfDay + hours - 1) });
    for (let h = 0; h < hours; h++) traffic(at(hourOfDay + h));
  };
  const perKind = options.eventsPerKind ?? 3;
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const scanner = (n: number) => `${[45, 185, 193][n % 3]}.${95 + n}.${147 + n}.${10 + n}`;
  const unknownHost = (n: number) => `10.0.${1 + (n % 5)}.${30 + Math.floor(n / 5)}`;
  // Each event gets an hour of its own (six kinds × perKind ≤ 24) and a source no other event of that hour uses.
  const hours = Array.from({ length: 24 }, (_, h) => h).sort(() => random() - 0.5);
  const nextHour = () => hours.shift() ?? between(0, 23);
  const rejected = { action: 'reject' as const, dst_segment: 'unknown', dst_is_public: false };
  // Drawn without replacement: a pair reached once is no longer new.
  const newPairs = (
    [
      [APP[2]!, DATA[1]!, 22],
      [BATCH[0]!, APP[0]!, 8080],
      [WEB[2]!, DATA[0]!, 5432],
      [DATA[2]!, WEB[0]!, 8443],
      [APP[5]!, BATCH[1]!, 9000],
    ] as const
  )
    .slice()
    .sort(() => random() - 0.5);

  for (let e = 0; e < perKind; e++) {
    // Fan-out (lateral movement): one VM reaches 55–80 hosts on a mix of admin ports within four minutes.
    {
      const src = pick([...APP, ...BATCH]);
      const count = between(55, 80);
      inject({ kind: 'fan_out', hourOfDay: nextHour(), src_ip: src.ip, pair: `${src.segment} -> unknown`, description: `${src.name} reaches ${count} hosts on admin ports` }, (hourMs) => {
        const minute = between(5, 50);
        for (let n = 0; n < count; n++) connect(hourMs, minute + Math.floor((n / count) * 4), src, unknownHost(n + 7 * e), pick([22, 135, 445, 3389, 5985, 139]), 400, rejected, false);
      });
    }
    // Horizontal scan (host sweep): one port across 40–150 hosts, from inside or from the internet.
    {
      const fromInside = e % 2 === 0;
      const src = fromInside ? pick([...APP, ...WEB]) : undefined;
      const srcIp = src?.ip ?? scanner(20 + e);
      const count = between(40, 150);
      const port = pick([445, 22, 23, 3389]);
      inject(
        { kind: 'host_sweep', hourOfDay: nextHour(), src_ip: srcIp, pair: `${src?.segment ?? 'internet'} -> unknown`, description: `${srcIp} sweeps ${count} hosts on port ${port}` },
        (hourMs) => {
          const minute = between(5, 50);
          for (let n = 0; n < count; n++) connect(hourMs, minute + Math.floor((n / count) * 3), src ?? srcIp, unknownHost(n), port, 120, rejected, false);
        },
      );
    }
    // Vertical scan (port scan): 25–500 ports of one host.
    {
      const fromInside = e % 2 === 1;
      const src = fromInside ? pick(APP) : undefined;
      const srcIp = src?.ip ?? scanner(e);
      const dst = fromInside ? pick(DATA) : pick(WEB);
      const ports = e === 0 ? 500 : between(25, 200);
      inject(
        { kind: 'port_scan', hourOfDay: nextHour(), src_ip: srcIp, pair: `${src?.segment ?? 'internet'} -> ${dst.segment}`, description: `${srcIp} probes ${ports} ports of ${dst.name}` },
        (hourMs) => {
          const minute = between(5, 50);
          for (let n = 0; n < ports; n++) connect(hourMs, minute + Math.floor((n / ports) * 3), src ?? srcIp, dst, 1 + n * 7, 120, { action: 'reject' }, false);
        },
      );
    }
    // New talker: a pair never seen, quiet; the second one reaches two new ports of its target in the hour (one finding).
    {
      const [src, dst, port] = newPairs[e % newPairs.length]!;
      inject(
        { kind: 'new_talker', hourOfDay: nextHour(), src_ip: src.ip, pair: `${src.segment} -> ${dst.segment}`, description: `${src.name} reaches ${dst.name}:${port} for the first time` },
        (hourMs) => {
          for (let k = 0; k < 3; k++) connect(hourMs, 10 + k * 7, src, dst, port, 20_000);
          if (e % 2 === 1) connect(hourMs, 40, src, dst, port + 1, 20_000);
        },
      );
    }
    // Volume spike on a pair that talks every hour: 3–8 × its normal hour.
    {
      const app = pick(APP);
      const dst = DATA[APP.indexOf(app) % 3]!;
      const bytes = between(4, 8) * 1_000_000;
      inject({ kind: 'volume_spike', hourOfDay: nextHour(), src_ip: app.ip, pair: `${app.segment} -> ${dst.segment}`, description: `${app.name} moves ${bytes / 1e6} MB to ${dst.name}` }, (hourMs) => {
        for (let k = 0; k < 6; k++) connect(hourMs, 5 + k * 9, app, dst, 5432, bytes / 6);
      });
    }
    // Slow exfiltration: 500–700 kB an hour to a public address the VM never reached, for five hours; no hour is a spike.
    {
      const src = pick(APP);
      const address = `203.0.113.${10 + e}`;
      const hourly = between(500, 700) * 1000;
      const start = Math.min(nextHour(), 19);
      inject(
        {
          kind: 'slow_exfiltration',
          hourOfDay: start,
          hours: 5,
          src_ip: src.ip,
          pair: `${src.segment} -> internet`,
          description: `${src.name} sends ${hourly / 1000} kB an hour to ${address} for 5 hours`,
        },
        (hourMs) => {
          // The upload is the opening side's bytes: a few small answers only.
          // connect() gives the opening side 30 % of a connection's bytes.
          for (let k = 0; k < 3; k++) connect(hourMs, 5 + k * 20, src, address, 443, hourly / 3 / 0.3, {}, false);
        },
      );
    }
  }
  return { flows, events, evalDay, firstHour };
}
