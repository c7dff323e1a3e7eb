/**
 * The health server on -healthz-ip:-healthz-port: flannel's /healthz and /readyz (same bodies and
 * codes, any method) plus GET /status, a JSON snapshot for `flanprov status/check` and people.
 */
import { createServer, type Server } from 'node:http';
import type { AgentStatus } from '../network/agent-status.js';

export interface HealthSource {
  isReady(): boolean;
  status(): AgentStatus;
}

export function startHealthServer(ip: string, port: number, src: HealthSource): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('flanneld is running');
    } else if (path === '/readyz') {
      if (src.isReady()) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('flanneld is ready');
      else res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('flanneld is not ready yet');
    } else if (path === '/status' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(src.status())}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    }
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
