/**
 * `flanneld serve-file` (network/agent-serve.ts has the command line): a small HTTP/1.1 file server that a
 * host runs for one `up`, so its peers copy the agent from it over the hosts' own network. flanprov starts
 * it under systemd-run (Type=notify: READY=1 once listening, RuntimeMaxSec as a hard limit) and stops it
 * when the copies are done; it also exits by itself after --idle-timeout without a request, so a vanished
 * controller leaves nothing running. Only GET/HEAD of the named paths, only from --allow addresses; what
 * it serves is checked by the fetching host (length and sha256 of the decoded agent), never trusted.
 */
import { createReadStream, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseServeFileArgv, type ServeFileArgs } from '../network/agent-serve.js';
import { createLogger, type AgentLogger } from './log.js';
import { sdNotifyReady } from './notify.js';

/** The client address without the IPv4-mapped prefix node gives on dual-stack sockets. */
function clientOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

export interface FileServer {
  /** resolves when the server has stopped (idle timeout, or stop()) */
  readonly done: Promise<void>;
  readonly port: number;
  stop(): void;
}

/** Starts serving; resolves once it listens. */
export function startFileServer(a: ServeFileArgs, log: AgentLogger): Promise<FileServer> {
  let inFlight = 0;
  let idle: NodeJS.Timeout | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const allow = new Set(a.allow);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const client = clientOf(req);
    const path = (req.url ?? '').split('?')[0]!;
    const file = Object.hasOwn(a.files, path) ? a.files[path] : undefined;
    const refuse = (code: number, why: string): void => {
      log.warn(`${client}: ${req.method} ${path}: ${code} ${why}`);
      res.writeHead(code, { 'content-type': 'text/plain', connection: 'close' }).end(`${why}\n`);
    };
    if (allow.size && !allow.has(client)) return refuse(403, 'not an allowed peer');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, 'only GET and HEAD');
    if (!file) return refuse(404, 'no such file');
    let size: number;
    try {
      size = statSync(file).size;
    } catch (e) {
      return refuse(404, `cannot read it: ${(e as Error).message}`);
    }
    inFlight++;
    clearTimeout(idle);
    const t0 = Date.now();
    res.on('close', () => {
      inFlight--;
      const whole = res.writableFinished;
      log.info(`${client}: GET ${path}: ${whole ? `${size} bytes in ${Date.now() - t0} ms` : 'connection closed before the end'}`);
      armIdle();
    });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('error', (e) => { log.error(`${client}: reading ${file}: ${e.message}`); res.destroy(); })
      .pipe(res);
  });

  const stop = (): void => {
    clearTimeout(idle);
    server.close(() => {
      for (const f of a.removeOnExit) rmSync(f, { force: true });
      resolveDone();
    });
    server.closeIdleConnections();
  };
  const armIdle = (): void => {
    clearTimeout(idle);
    if (inFlight === 0) idle = setTimeout(() => { log.info(`no request for ${a.idleTimeoutS} s: stopping`); stop(); }, a.idleTimeoutS * 1000);
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(a.port, a.listen, () => {
      server.off('error', reject);
      const port = (server.address() as { port: number }).port;
      log.info(`serving ${Object.entries(a.files).map(([p, f]) => `${p} (${f})`).join(', ')} on ${a.listen}:${port}${allow.size ? ` to ${[...allow].join(', ')}` : ''}`);
      armIdle();
      resolve({ done, port, stop });
    });
  });
}

/** `flanneld serve-file ...`: exit 0 when it stopped, 1 when it could not listen, 2 for a bad command line. */
export async function serveFileMain(argv: readonly string[]): Promise<number> {
  const log = createLogger(0, 'serve-file');
  let args: ServeFileArgs;
  try {
    args = parseServeFileArgv(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  let srv: FileServer;
  try {
    srv = await startFileServer(args, log);
  } catch (e) {
    log.error(`cannot listen on ${args.listen}:${args.port}: ${(e as Error).message}`);
    for (const f of args.removeOnExit) rmSync(f, { force: true });
    return 1;
  }
  process.on('SIGTERM', () => srv.stop());
  process.on('SIGINT', () => srv.stop());
  const notified = await sdNotifyReady(`serving on ${args.listen}:${srv.port}`);
  if (notified !== 'sent' && notified !== 'no-socket') log.warn(`Failed to notify systemd the message READY=1: ${notified}`);
  await srv.done;
  return 0;
}
