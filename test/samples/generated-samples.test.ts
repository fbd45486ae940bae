import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SAMPLES_DIR } from '../../cli/commands/demo-command.ts';
import { AZURE, GCP, OCI } from '../../data/samples/multi-cloud-estate.ts';
import { readInventoryFile } from '../../lib/reference/load-inventory.ts';
import { rulesFileSchema } from '../../schemas/reference/rules.ts';
import { SOURCES } from '../../lib/sources/registry.ts';
import { deliveryWindow } from '../../lib/sources/source-definition.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

const run = promisify(execFile);

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  }
  return found.sort();
}

describe('the bundled samples', () => {
  let generated: string;
  beforeAll(async () => {
    generated = await mkdtemp(path.join(tmpdir(), 'netflow-samples-'));
    await run(process.execPath, ['--import', 'tsx', path.join(SAMPLES_DIR, 'generate-samples.ts'), generated], { cwd: REPO_ROOT });
  });
  afterAll(() => rm(generated, { recursive: true, force: true }));

  it('are, byte for byte, what generate-samples.ts writes', async () => {
    const committed = await filesUnder(path.join(SAMPLES_DIR, 'raw'));
    expect(await filesUnder(path.join(generated, 'raw'))).toEqual(committed);
    for (const key of committed) {
      const [mine, theirs] = await Promise.all([readFile(path.join(generated, 'raw', key)), readFile(path.join(SAMPLES_DIR, 'raw', key))]);
      expect(mine.equals(theirs), `${key} differs from the generator's output: run node --import tsx data/samples/generate-samples.ts`).toBe(true);
    }
  });

  it("hold every source, each object in its provider's layout and in the window of a demo hour", async () => {
    const keys = (await filesUnder(path.join(SAMPLES_DIR, 'raw'))).map((key) => `raw/${key}`);
    const hours = [Date.UTC(2024, 4, 1, 13), Date.UTC(2024, 4, 1, 14), Date.UTC(2024, 4, 2, 13)].map((time) => deliveryWindow(new Date(time), 15 * 60_000));
    for (const source of SOURCES) {
      const prefix = `raw/${source.sourceType}/`;
      const mine = keys.filter((key) => key.startsWith(prefix));
      expect(mine.length, source.sourceType).toBeGreaterThan(0);
      for (const key of mine) {
        const object = { key, size: 1, etag: 'x', lastModified: new Date(0) };
        expect(
          hours.some((window) => source.inWindow(object, prefix, window)),
          key,
        ).toBe(true);
      }
    }
  });

  it("name the other clouds' VMs as the inventory and the rules do", async () => {
    const [snapshot] = await readInventoryFile(path.join(SAMPLES_DIR, 'reference', 'inventory.yaml'));
    const vms = new Map(snapshot!.vms.map((vm) => [vm.vm_id, vm]));
    const estate = [
      ...Object.values(AZURE.vms).map((vm) => ({ ...vm, account: AZURE.subscription, interface: undefined as string | undefined })),
      ...Object.values(GCP.vms).map((vm) => ({ ...vm, account: GCP.project, mac: undefined, interface: undefined })),
      ...Object.values(OCI.vms).map((vm) => ({ ...vm, account: OCI.tenancy, mac: undefined, interface: vm.vnic })),
    ];
    for (const vm of estate) {
      const listed = vms.get(vm.id);
      expect(listed, vm.name).toMatchObject({ vm_name: vm.name, account_id: vm.account });
      expect(
        listed!.interfaces.flatMap((nic) => nic.private_ips),
        vm.name,
      ).toContain(vm.ip);
      if (vm.mac)
        expect(
          listed!.interfaces.map((nic) => nic.mac?.replace(/[:-]/g, '').toUpperCase()),
          vm.name,
        ).toContain(vm.mac);
      if (vm.interface)
        expect(
          listed!.interfaces.map((nic) => nic.interface_id),
          vm.name,
        ).toContain(vm.interface);
    }
    const rules = rulesFileSchema.parse(parse(await readFile(path.join(SAMPLES_DIR, 'reference', 'rules.yaml'), 'utf8')));
    expect(rules.rules.find((rule) => rule.id === 'azure-sql-only-from-az-app-1')).toMatchObject({ to: { vm: AZURE.vms.sql1.id }, from: [{ vm: AZURE.vms.app1.id }] });
  });
});
