import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';

/** A UDP receiver; the sender's datagrams are the flow the test knows exactly. */
export async function udpServer(type: 'udp4' | 'udp6', host: string): Promise<{ port: number; received: () => number; close: () => void }> {
  const socket = dgram.createSocket(type);
  let received = 0;
  socket.on('message', () => received++);
  socket.bind(0, host);
  await once(socket, 'listening');
  return { port: socket.address().port, received: () => received, close: () => socket.close() };
}

export interface SentFlow {
  srcPort: number;
  dstPort: number;
  packets: number;
  /** IP bytes: payload + UDP header + IPv4 (20) or IPv6 (40) header. */
  bytes: number;
}

/** Sends one datagram per size from one socket; waits between sends so that none is dropped. */
export async function sendUdp(type: 'udp4' | 'udp6', host: string, port: number, sizes: number[]): Promise<SentFlow> {
  const socket = dgram.createSocket(type);
  socket.bind(0, host);
  await once(socket, 'listening');
  for (const size of sizes) {
    await new Promise<void>((resolve, reject) => socket.send(Buffer.alloc(size, 0x5a), port, host, (error) => (error ? reject(error) : resolve())));
  }
  const srcPort = socket.address().port;
  socket.close();
  const ipHeader = type === 'udp4' ? 20 : 40;
  return { srcPort, dstPort: port, packets: sizes.length, bytes: sizes.reduce((sum, size) => sum + size + 8 + ipHeader, 0) };
}

export async function tcpServer(host: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('data', () => {});
    s.on('end', () => s.end('thanks'));
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Connects, sends `bytes`, half-closes, reads the reply to the end. Returns the client port. */
export async function tcpExchange(host: string, port: number, bytes: number): Promise<number> {
  const client = net.connect(port, host);
  await once(client, 'connect');
  const localPort = client.localPort!;
  client.end(Buffer.alloc(bytes, 1));
  client.resume();
  await once(client, 'close');
  return localPort;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A second, independent tcpdump writing a file, as the reference for what was on the wire. */
export async function referenceCapture(iface: string, filter: string, file: string, netns?: string): Promise<{ stop: () => Promise<void> }> {
  const args = ['-i', iface, '-U', '-n', '-s', '256', '-w', file, filter];
  const child = netns ? spawn('ip', ['netns', 'exec', netns, 'tcpdump', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`reference tcpdump exited with ${code}: ${stderr}`)));
  });
  return {
    async stop() {
      // Let libpcap retire its last block before the signal (see TcpdumpCapture).
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
