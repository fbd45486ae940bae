import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';

/**
 * Azurite, the Azure Storage emulator (npm `azurite`), as a real Blob service for tests: its blob
 * server alone, in a child process, on 127.0.0.1 and a free port, in memory, with telemetry off
 * (`--disableTelemetry`), so that nothing leaves the machine. Clients reach it over HTTP with
 * Shared Key signatures, which Azurite checks against its well-known development account.
 */
export interface AzuriteServer {
  /** `http://127.0.0.1:<port>/devstoreaccount1` (path-style, as Azurite serves accounts). */
  accountUrl: string;
  accountName: string;
  accountKey: string;
  /** The environment our adapter reads credentials from. */
  env: NodeJS.ProcessEnv;
  createContainer(name: string): Promise<void>;
  stop(): Promise<void>;
}

export const AZURITE_ACCOUNT = 'devstoreaccount1';
// Azurite's published development key (the same for every installation; not a secret).
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const MAIN = path.resolve(import.meta.dirname, '..', '..', 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');

export async function startAzurite(): Promise<AzuriteServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [MAIN, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--extentMemoryLimit', '512', '--disableTelemetry', '--skipApiVersionCheck', '--silent'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!/successfully listens on/.test(output)) {
    if (child.exitCode !== null) throw new Error(`azurite exited with ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`azurite did not start within 30 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const accountUrl = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    accountUrl,
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    env: { AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT, AZURE_STORAGE_KEY: AZURITE_KEY },
    async createContainer(name) {
      await new ContainerClient(`${accountUrl}/${name}`, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)).createIfNotExists();
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}
