/**
 * A download mirror and an HTTP proxy on a lab's underlay, for flannel_agent_source url: a network namespace
 * `fpl-<lab>-mir` (the lab's prefix, so `lab down` removes it too if a test dies) plugged into the lab's switch
 * at 198.18.<k>.200, running a small Node server: GET of the files it was given on port 8080, a forward proxy
 * (absolute-URI GETs, as curl, wget and bash send through http_proxy) on port 3128. It sits on the hosts' side,
 * so `--wan` is not between it and the hosts. Every request is logged; stop() ends the server (by its PID) and
 * removes the namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sh, type Lab } from './up-helpers.js';

const SERVER = String.raw`
const http = require('node:http');
const fs = require('node:fs');
const files = JSON.parse(process.argv[1]);
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');
http.createServer((req, res) => {
  const f = files[req.url];
  log({ server: 'mirror', url: req.url, from: req.socket.remoteAddress, status: f ? 200 : 404 });
  if (!f) return res.writeHead(404).end('not here\n');
  res.writeHead(200, { 'content-length': fs.statSync(f).size });
  fs.createReadStream(f).pipe(res);
}).listen(8080, '0.0.0.0');
http.createServer((req, res) => {
  log({ server: 'proxy', url: req.url, from: req.socket.remoteAddress });
  let u;
  try { u = new URL(req.url); } catch { return res.writeHead(400).end(); }
  const up = http.request({ host: u.hostname, port: u.port || 80, path: u.pathname + u.search, method: req.method }, (r) => {
    const { connection, 'keep-alive': k, ...headers } = r.headers;
    res.writeHead(r.statusCode, headers);
    r.pipe(res);
  });
  up.on('error', (e) => res.writeHead(502).end(e.message));
  up.end();
}).listen(3128, '0.0.0.0', () => log({ ready: true }));
`;

export interface MirrorRequest { server: 'mirror' | 'proxy'; url: string; from: string; status?: number }

export class Mirror {
  readonly requests: MirrorRequest[] = [];
  private constructor(readonly ip: string, private readonly ns: string, private readonly proc: ChildProcess) {}

  url(path: string): string {
    return `http://${this.ip}:8080${path}`;
  }

  get proxy(): string {
    return `http://${this.ip}:3128`;
  }

  /** `files`: URL path → local file */
  static async start(lab: Lab, files: Record<string, string>): Promise<Mirror> {
    const k = lab.hosts[0]!.ip.split('.')[2];
    const ip = `198.18.${k}.200`;
    const ns = `fpl-${lab.name}-mir`;
    const sw = `fpl-${lab.name}-sw`;
    await Mirror.remove(ns, sw);
    const steps: string[][] = [
      ['netns', 'add', ns],
      ['-n', sw, 'link', 'add', 'mir', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns],
      ['-n', sw, 'link', 'set', 'mir', 'master', 'br0', 'up'],
      ['-n', ns, 'link', 'set', 'lo', 'up'],
      ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0'],
      ['-n', ns, 'link', 'set', 'eth0', 'up'],
    ];
    for (const s of steps) {
      const r = await sh('ip', s);
      if (r.code !== 0) throw new Error(`mirror: ip ${s.join(' ')}: ${r.stderr}`);
    }
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, JSON.stringify(files)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const m = new Mirror(ip, ns, proc);
    const lines = createInterface({ input: proc.stdout! });
    await new Promise<void>((resolve, reject) => {
      proc.once('exit', (c) => reject(new Error(`mirror server exited ${c}`)));
      lines.on('line', (l) => {
        const o = JSON.parse(l) as MirrorRequest & { ready?: boolean };
        if (o.ready) resolve();
        else m.requests.push(o);
      });
    });
    return m;
  }

  private static async remove(ns: string, sw: string): Promise<void> {
    await sh('ip', ['-n', sw, 'link', 'del', 'mir']);
    await sh('ip', ['netns', 'del', ns]);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const gone = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await gone;
    }
    await Mirror.remove(this.ns, `fpl-${this.ns.split('-')[1]}-sw`);
  }
}
