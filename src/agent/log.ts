/**
 * klog-style lines on stderr (`I0629 14:28:35.866793    5522 agent] message`), the format flannel
 * users grep for. `debug(level)` is shown at -v=level or higher. Never pass secrets to it.
 */
import type { Logger } from './backends/backend.js';

function stamp(sev: string, d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${sev}${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000 ${String(process.pid).padStart(7)}`;
}

export interface AgentLogger extends Logger {
  /** a logger whose lines say `component]` instead of `agent]` */
  child(component: string): AgentLogger;
}

export function createLogger(verbosity: number, component = 'flanneld', write: (s: string) => void = (s) => process.stderr.write(s)): AgentLogger {
  const line = (sev: string, msg: string) => write(`${stamp(sev)} ${component}] ${msg}\n`);
  return {
    info: (m) => line('I', m),
    warn: (m) => line('W', m),
    error: (m) => line('E', m),
    debug: (level, m) => {
      if (verbosity >= level) line('I', m);
    },
    child: (c) => createLogger(verbosity, c, write),
  };
}
