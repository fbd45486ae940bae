import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isRoot, requireTool, requireTools } from '../../support/require-tool.ts';

/** What the agent's live tests need from the machine; .ci/run installs all of it and runs as root. */
export const tcpdump = requireTool('tcpdump', 'apt-get install -y tcpdump');

/** The independent per-packet reader the captures are checked against. */
export const tshark = requireTool('tshark', 'apt-get install -y tshark');

/** Opening a capture: root, or CAP_NET_RAW (bit 13) in the effective set. */
export const capturePrivileges = requireTool('capture privileges (root or CAP_NET_RAW)', 'run the tests as root, as .ci/run does', () => {
  if (isRoot() === true) return true;
  const capEff = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return capEff && (BigInt(`0x${capEff}`) & (1n << 13n)) !== 0n ? true : 'neither root nor CAP_NET_RAW';
});

export const liveCapture = requireTools(tcpdump, capturePrivileges);

/** Two throw-away network namespaces joined by a veth pair. */
export const networkNamespaces = requireTool('network namespaces (ip netns, as root)', 'apt-get install -y iproute2, and run the tests as root', () => {
  const root = isRoot();
  if (root !== true) return root;
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error) return probe.error.message;
  return probe.status === 0 ? true : probe.stderr.trim();
});

/** Runs the agent as `nobody` with only the systemd unit's capabilities. */
export const setpriv = requireTool('setpriv', 'apt-get install -y util-linux');
