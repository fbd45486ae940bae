import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reportManifestSchema, type ReportManifest } from '../../schemas/report-manifest.ts';
import { sha256File } from '../publish/publish-partition.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { chainPrefix, jsonBytes, linkKey, parseChainObject, parseLink, REPORT_MANIFEST_NAME, seqOfLinkKey, sha256Hex, type ReportKind } from './report-chain.ts';
import type { ReportPeriod } from './report-period.ts';

export type ChainProblemKind =
  | 'changed' // bytes differ from the hash recorded for them
  | 'missing' // a file, manifest or link named by the chain is absent
  | 'unreadable' // a link or manifest that is not JSON of its schema
  | 'sequence_gap' // link numbers skip
  | 'reordered' // a link or manifest holds another position than the one it sits at
  | 'previous_mismatch' // a manifest's `previous` is not the manifest before it as it hashes now
  | 'unexpected' // an object in the chain or a report folder that the chain does not name
  | 'unlinked' // a report manifest or file that no link reaches (its link was removed, or its writer stopped before linking)
  | 'head_mismatch' // --expect-head names no manifest of the chain
  | 'input_changed'; // a lake file a report read hashes differently now

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The object the problem is about. */
  key: string;
  /** The link it was found at, when it belongs to one. */
  seq: number | null;
  message: string;
}

export interface ReportCheck {
  seq: number;
  link_key: string;
  manifest_key: string | null;
  /** The manifest's bytes as hashed now. */
  manifest_sha256: string | null;
  period: string | null;
  generated_at: string | null;
  /** Whether the report's period overlaps the asked one; files are re-hashed only when it does. */
  in_scope: boolean;
  files_checked: number;
  inputs_checked: number;
  /** Inputs no longer in the lake (superseded versions are collected after the grace period). */
  inputs_absent: number;
  status: 'ok' | 'failed';
  problems: ChainProblem[];
}

export interface ChainVerification {
  kind: ReportKind;
  status: 'intact' | 'broken';
  links: number;
  head: { seq: number; manifest_key: string; sha256: string | null } | null;
  /** Where `expectHead` was found: links after it are newer than the anchor and not covered by it. */
  anchor: { seq: number; links_after: number } | null;
  reports: ReportCheck[];
  /** Every problem, of the chain and of each report, in the order found. */
  problems: ChainProblem[];
}

export interface VerifyOptions {
  kind: ReportKind;
  /** Re-hash the files of reports overlapping this period only; links and manifests are always all checked. */
  period?: ReportPeriod;
  /** Also re-hash the lake files each report read, where they still exist. */
  inputs?: boolean;
  /** The SHA-256 of a manifest recorded elsewhere (the head logged after a report): it must be in the chain. */
  expectHead?: string;
}

/**
 * Walks a kind's chain from link 1: every link, every manifest and (in scope) every report file
 * is re-hashed against the hash recorded for it, every `previous` against the manifest before
 * it, and every object under `reports/<kind>/` must be reached from a link. Never throws for an
 * integrity problem: the result lists each one, naming the object and what differs.
 */
export async function verifyReportChain(store: ObjectStore, options: VerifyOptions): Promise<ChainVerification> {
  const { kind } = options;
  const problems: ChainProblem[] = [];
  // One listing of the kind serves the links, each generation folder and the unreached objects.
  const listed: string[] = [];
  for await (const object of store.list(`reports/${kind}/`)) listed.push(object.key);
  const links: { seq: number; key: string }[] = [];
  for (const key of listed.filter((candidate) => candidate.startsWith(chainPrefix(kind)))) {
    const seq = seqOfLinkKey(kind, key);
    if (seq === undefined) problems.push({ kind: 'unexpected', key, seq: null, message: `${key}: not a link of the ${kind} chain (links are named like ${linkKey(kind, 1)})` });
    else links.push({ seq, key });
  }
  links.sort((a, b) => a.seq - b.seq);
  let expected = 1;
  for (const { seq } of links) {
    if (seq > expected) {
      const which = seq - expected === 1 ? `link ${expected} is missing` : `links ${expected}-${seq - 1} are missing`;
      problems.push({ kind: 'sequence_gap', key: linkKey(kind, expected), seq: expected, message: `${linkKey(kind, expected)}: ${which}: the chain goes from ${expected === 1 ? 'its start' : `link ${expected - 1}`} to link ${seq}` });
    }
    expected = seq + 1;
  }

  const inputHashes = new Map<string, Promise<string | undefined>>();
  const reached = new Set<string>();
  const reports: ReportCheck[] = [];
  let before: Before | undefined;
  for (const { seq, key } of links) {
    const check: ReportCheck = { seq, link_key: key, manifest_key: null, manifest_sha256: null, period: null, generated_at: null, in_scope: true, files_checked: 0, inputs_checked: 0, inputs_absent: 0, status: 'ok', problems: [] };
    reports.push(check);
    const report = (problem: ChainProblemKind, about: string, message: string) => {
      const found = { kind: problem, key: about, seq, message: `${about}: ${message}` };
      check.problems.push(found);
      problems.push(found);
    };
    const manifest = await checkLinkAndManifest(store, kind, check, before, report);
    before = { seq, key: check.manifest_key, sha256: check.manifest_sha256 };
    if (check.manifest_key === null) continue;
    // A folder a link names is reached even when its manifest is gone: that is one problem, not one per file.
    const folder = check.manifest_key.slice(0, -REPORT_MANIFEST_NAME.length);
    reached.add(folder);
    if (!manifest) continue;
    check.in_scope = !options.period || (Date.parse(manifest.period.from) < options.period.to.getTime() && Date.parse(manifest.period.to) > options.period.from.getTime());
    if (!check.in_scope) continue;
    await checkOutputs(store, manifest, listed.filter((key) => key.startsWith(folder)), folder, check, report);
    if (options.inputs) {
      for (const input of manifest.inputs) {
        if (!inputHashes.has(input.key)) inputHashes.set(input.key, hashObject(store, input.key));
        const actual = await inputHashes.get(input.key)!;
        if (actual === undefined) check.inputs_absent++;
        else {
          check.inputs_checked++;
          if (actual !== input.sha256) report('input_changed', input.key, `sha256 ${actual}, the report of link ${seq} read it as ${input.sha256} (the lake file changed after the report was made)`);
        }
      }
    }
  }

  // Every object of the kind must be reached from a link: a removed tail link leaves its folder behind.
  for (const key of listed) {
    if (key.startsWith(chainPrefix(kind)) || reached.has(key.slice(0, key.lastIndexOf('/') + 1))) continue;
    const what = key.endsWith(`/${REPORT_MANIFEST_NAME}`) ? 'a report manifest' : 'a report file';
    problems.push({ kind: 'unlinked', key, seq: null, message: `${key}: ${what} no link of the ${kind} chain reaches (its link was removed, its writer stopped before linking it, or it was put there)` });
  }

  for (const check of reports) check.status = check.problems.length > 0 ? 'failed' : 'ok';
  const last = reports.at(-1);
  let anchor: ChainVerification['anchor'] = null;
  if (options.expectHead !== undefined) {
    const at = reports.findIndex((check) => check.manifest_sha256 === options.expectHead);
    if (at >= 0) anchor = { seq: reports[at]!.seq, links_after: reports.length - 1 - at };
    else {
      const now = last ? `the head is link ${last.seq}, sha256 ${last.manifest_sha256 ?? '(unreadable)'}` : 'the chain is empty';
      problems.push({ kind: 'head_mismatch', key: chainPrefix(kind), seq: null, message: `${chainPrefix(kind)}: no manifest of the chain hashes to the expected head ${options.expectHead}; ${now} (the head was rewritten, removed or truncated away)` });
    }
  }
  return {
    kind,
    status: problems.length === 0 ? 'intact' : 'broken',
    links: links.length,
    head: last ? { seq: last.seq, manifest_key: last.manifest_key ?? '', sha256: last.manifest_sha256 } : null,
    anchor,
    reports,
    problems,
  };
}

type Report = (problem: ChainProblemKind, about: string, message: string) => void;
/** The link before the one being checked: the manifest it names and how that hashes now (null when unreadable). */
type Before = { seq: number; key: string | null; sha256: string | null };

/** The link at `check.seq`, its manifest, and the manifest's `previous` against the link before; the parsed manifest when it is readable. */
async function checkLinkAndManifest(store: ObjectStore, kind: ReportKind, check: ReportCheck, before: Before | undefined, report: Report): Promise<ReportManifest | undefined> {
  const { seq, link_key: key } = check;
  const linkBytes = await store.getBytes(key);
  let link;
  try {
    link = parseLink(key, linkBytes);
  } catch (error) {
    report('unreadable', key, (error as Error).message.replace(`${key} `, ''));
    return undefined;
  }
  // A link is not hashed by anything else, so it must be byte for byte what a writer writes: a flipped space is a change too.
  if (!jsonBytes(link).equals(linkBytes!)) report('changed', key, 'not byte for byte the link a writer writes (bytes changed)');
  if (link.kind !== kind) report('unexpected', key, `a link of the ${link.kind} chain in the ${kind} chain`);
  if (link.seq !== seq) report('reordered', key, `holds link ${link.seq}, not ${seq}: links were renamed or swapped`);
  if (!link.manifest_key.startsWith(`reports/${kind}/`) || !link.manifest_key.endsWith(`/${REPORT_MANIFEST_NAME}`) || link.manifest_key.startsWith(chainPrefix(kind))) {
    report('unexpected', key, `names ${link.manifest_key}, which is not a ${kind} report manifest`);
    return undefined;
  }
  check.manifest_key = link.manifest_key;
  const bytes = await store.getBytes(link.manifest_key);
  if (!bytes) {
    report('missing', link.manifest_key, `missing (the manifest ${key} names)`);
    return undefined;
  }
  check.manifest_sha256 = sha256Hex(bytes);
  if (check.manifest_sha256 !== link.manifest_sha256) report('changed', link.manifest_key, `sha256 ${check.manifest_sha256}, ${key} says ${link.manifest_sha256} (the manifest or its link was changed after linking)`);
  let manifest;
  try {
    manifest = parseChainObject(link.manifest_key, bytes, reportManifestSchema, 'report manifest');
  } catch (error) {
    report('unreadable', link.manifest_key, (error as Error).message.replace(`${link.manifest_key} `, ''));
    return undefined;
  }
  check.period = manifest.period.label;
  check.generated_at = manifest.generated_at;
  if (manifest.kind !== kind) report('unexpected', link.manifest_key, `a ${manifest.kind} manifest in the ${kind} chain`);
  if (manifest.seq !== seq) report('reordered', link.manifest_key, `says it is link ${manifest.seq}, but ${key} names it`);
  const previous = manifest.previous;
  if (seq === 1 && previous !== null) report('previous_mismatch', link.manifest_key, `link 1 names a previous manifest (link ${previous.seq}, ${previous.key}): the chain's beginning was removed or renumbered`);
  else if (seq > 1 && previous === null) report('previous_mismatch', link.manifest_key, `names no previous manifest, but it is link ${seq}: the chain was cut here`);
  else if (previous !== null) {
    if (previous.seq !== seq - 1) report('reordered', link.manifest_key, `names link ${previous.seq} as its previous, not ${seq - 1}`);
    else if (before?.seq === seq - 1 && before.key !== null) {
      if (previous.key !== before.key) report('previous_mismatch', link.manifest_key, `names ${previous.key} as its previous, but link ${seq - 1} names ${before.key}`);
      else if (before.sha256 !== null && previous.sha256 !== before.sha256) {
        report('previous_mismatch', link.manifest_key, `recorded its previous, ${previous.key}, as sha256 ${previous.sha256}; it hashes to ${before.sha256} now (link ${seq - 1}'s manifest was changed or re-signed after link ${seq} was written)`);
      }
    }
  }
  return manifest;
}

async function checkOutputs(store: ObjectStore, manifest: ReportManifest, inFolder: readonly string[], folder: string, check: ReportCheck, report: Report): Promise<void> {
  const named = new Set([check.manifest_key!]);
  // A generation's files are few and small: read them at once (one round trip's wait on a remote store).
  const contents = await Promise.all(manifest.outputs.map((output) => (output.key.startsWith(folder) ? store.getBytes(output.key) : Promise.resolve(undefined))));
  for (const [index, output] of manifest.outputs.entries()) {
    named.add(output.key);
    if (!output.key.startsWith(folder)) {
      report('unexpected', output.key, `report file of link ${check.seq} outside its folder ${folder}`);
      continue;
    }
    const bytes = contents[index];
    check.files_checked++;
    if (!bytes) report('missing', output.key, `missing (report file ${output.name} of link ${check.seq})`);
    else if (bytes.length !== output.bytes) report('changed', output.key, `${bytes.length} bytes, the manifest of link ${check.seq} says ${output.bytes} (truncated or extended)`);
    else {
      const actual = sha256Hex(bytes);
      if (actual !== output.sha256) report('changed', output.key, `sha256 ${actual}, the manifest of link ${check.seq} says ${output.sha256} (bytes changed)`);
    }
  }
  for (const key of inFolder) {
    if (!named.has(key)) report('unexpected', key, `in the folder of link ${check.seq} but not in its manifest`);
  }
}

/** SHA-256 of an object, streamed (lake files can be large); undefined when it is gone. */
async function hashObject(store: ObjectStore, key: string): Promise<string | undefined> {
  const local = store.localPathOf?.(key);
  if (local !== undefined) {
    try {
      return await sha256File(local);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
  if (!(await store.head(key))) return undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'netflow-verify-'));
  try {
    const file = path.join(dir, 'object');
    await store.getToFile(key, file);
    return await sha256File(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
