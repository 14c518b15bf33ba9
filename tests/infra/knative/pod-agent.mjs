// The "pod network" inside one Knative process's private network namespace (see network.ts). Started by the
// pod's launch script before the Knative binary, it stays until that binary exits (its parent pid changes),
// and provides what a cluster's node gives a pod:
//   - DNS on 127.0.0.53:53/udp: `<svc>.<ns>.svc.cluster.local` -> the service's virtual address from the run's
//     table (A records only; NXDOMAIN for anything else, so nothing outside this run is ever looked up);
//   - kube-proxy: TCP to <virtual address>:<port> -> the unix socket the table names for it (a socket another
//     pod's agent, or the harness, serves);
//   - the API server: 127.0.0.1:<api port> -> the harness's unix socket for it (TLS passes through unchanged);
//   - the pod's own ports: a unix socket per container port -> 127.0.0.1:<port> in here.
// Plain JavaScript with no dependencies: one small node process per pod, no transpiler.
// Usage: node pod-agent.mjs CONFIG.json   (config: see PodAgentConfig in network.ts)
/* global Buffer, setInterval */
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const parent = process.ppid;

/** The run's name/address table, re-read on use: the harness rewrites it (atomically) as services come and go. */
function table() {
  try {
    return JSON.parse(readFileSync(config.tablePath, 'utf8'));
  } catch {
    return { names: {}, routes: {} };
  }
}

function pipe(a, b) {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

function forward(socket, target) {
  socket.pause();
  const upstream = connect(target, () => socket.resume());
  pipe(socket, upstream);
}

// ------------------------------------------------------------------------------------------------ DNS
function readName(msg, offset) {
  const labels = [];
  let i = offset;
  for (;;) {
    const len = msg[i];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: i + 1 };
    if (len >= 0xc0) throw new Error('compressed name in question');
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += 1 + len;
  }
}

function answer(query) {
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const address = name.endsWith('.svc.cluster.local') ? table().names[name] : undefined;
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  const rd = query[2] & 0x01;
  header[2] = 0x84 | rd; // QR, AA, RD echoed
  header[3] = 0x80 | (address ? 0 : 3); // RA; NOERROR or NXDOMAIN
  header.writeUInt16BE(1, 4); // one question
  if (!address || qtype !== 1) return Buffer.concat([header, question]); // NXDOMAIN, or no AAAA/other data
  header.writeUInt16BE(1, 6); // one answer
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question
  rr.writeUInt16BE(1, 2); // A
  rr.writeUInt16BE(1, 4); // IN
  rr.writeUInt32BE(5, 6); // TTL 5 s
  rr.writeUInt16BE(4, 10);
  address.split('.').forEach((octet, k) => rr.writeUInt8(Number(octet), 12 + k));
  return Buffer.concat([header, question, rr]);
}

const dns = createSocket('udp4');
dns.on('message', (msg, peer) => {
  try {
    dns.send(answer(msg), peer.port, peer.address);
  } catch {
    // a malformed query gets no answer (the resolver times out and retries)
  }
});

// ------------------------------------------------------------------------------------------ TCP relays
// Connections to any virtual address on a service port: which one was dialled is the socket's local address.
const servicePorts = new Map();
function serviceListener(port) {
  const server = createServer((socket) => {
    const route = table().routes[`${socket.localAddress}:${port}`];
    if (!route) return socket.destroy();
    forward(socket, route);
  });
  servicePorts.set(port, server);
  return server;
}

const servers = [];
function listen(server, ...args) {
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...args, () => resolve());
  });
}

await Promise.all([
  new Promise((resolve, reject) => {
    dns.once('error', reject);
    dns.bind(53, '127.0.0.53', () => resolve());
  }),
  listen(createServer((s) => forward(s, config.apiSocket)), config.apiPort, '127.0.0.1'),
  ...config.servicePorts.map((port) => listen(serviceListener(port), port, '0.0.0.0')),
  ...config.exports.map((e) => {
    rmSync(e.socket, { force: true });
    return listen(createServer((s) => forward(s, { host: '127.0.0.1', port: e.port })), e.socket);
  }),
]);
writeFileSync(config.readyFile, String(process.pid));

// The pod is gone when the binary that replaced our launching shell exits: we are re-parented then.
setInterval(() => {
  if (process.ppid !== parent) {
    for (const e of config.exports) rmSync(e.socket, { force: true });
    process.exit(0);
  }
}, 250).unref();
// keep running (the timer is unref'd; the servers keep the loop alive)
