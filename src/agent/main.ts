/**
 * flanneld entry point (the single executable's main). Exit codes: 0 clean exit (SIGTERM/SIGINT,
 * -version, -help), 1 fatal error, 2 usage error. The same executable is flannel's CNI plugin when run
 * as `flannel` or with CNI_COMMAND set (cni/plugin.ts); the daemon (and the etcd client with it) is
 * imported only when it runs, so a plugin call does not load it. `flanneld serve-file` serves the agent to
 * peer hosts for one run of `up` (serve-file.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { isCniInvocation, runCniPlugin } from './cni/plugin.js';
import { describeFlags, parseFlags, usageText, UsageError } from './flags.js';
import { startHeapTrim } from './heap-trim.js';
import { createLogger } from './log.js';
import { VERSION } from '../network/version.js';
import { SERVE_FILE_COMMAND } from '../network/agent-serve.js';

// V8 flags (a SEA cannot take node command-line flags; measured with bench/agent-figures.ts and
// bench/agent-memory.ts): a small young generation. --max-semi-space-size only counts when the heap is
// created, so set here it did nothing (the new space still grew to 8 MB, 4-7.5 MB of it resident);
// --semi-space-growth-factor=1 is read whenever the new space would grow, and keeps it at its initial
// 2 MB (idle RSS -1.5 to -2 MB, start-to-ready unchanged). --optimize-for-size (smaller heap growth
// steps and code) cut RSS with 1,000 peers by 8-16 MB but slowed start-up, so it is switched on once the
// agent is ready, with the heap trim (heap-trim.ts). Not used: --single-threaded-gc (no gain; the agent
// died under the bench), --max-old-space-size=48 (no gain, worse p99 latency), --no-opt (start-to-ready
// 2-3x slower), --jitless and --lite-mode (cannot be set after V8 started: the agent crashes);
// --bytecode-old-age=2, --no-sparkplug, --max-lazy, --gc-memory-reducer-start-delay-ms=500 (all within
// +-1 MB noise). NODE_OPTIONS=--max-semi-space-size=1 would work but makes V8 reject the SEA's code cache
// (and print a warning).
setFlagsFromString('--semi-space-growth-factor=1');

async function main(argv: readonly string[]): Promise<number> {
  // `flanneld serve-file ...`: hosts copying the agent from each other (flannel_agent_source: peers)
  if (argv[0] === SERVE_FILE_COMMAND) return (await import('./serve-file.js')).serveFileMain(argv.slice(1));
  let flags;
  try {
    flags = parseFlags(argv, process.env);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${usageText()}`);
      return 2;
    }
    throw e;
  }
  if (flags.help) {
    process.stderr.write(usageText());
    return 0;
  }
  if (flags.version) {
    process.stderr.write(`${VERSION}\n`);
    return 0;
  }
  const { Daemon, FatalError } = await import('./daemon.js');
  const log = createLogger(flags.v);
  log.info(`flanneld ${VERSION} (node ${process.version}) starting`);
  log.info(`CLI flags config: {${describeFlags(flags)}}`);
  const agent = new Daemon(flags, log, {
    onReady: () => {
      setFlagsFromString('--optimize-for-size');
      startHeapTrim();
    },
  });
  log.info('Installing signal handlers');
  const onSignal = (sig: string) => {
    log.info(`shutdownHandler sent cancel signal (${sig})... leaving the lease and kernel state in place`);
    void agent.stop();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  try {
    const code = await agent.run();
    log.info('Exiting cleanly...');
    return code;
  } catch (e) {
    log.error(e instanceof FatalError ? e.message : `fatal: ${(e as Error).stack ?? String(e)}`);
    await agent.stop().catch(() => undefined);
    return 1;
  }
}

if (isCniInvocation(process.argv0, process.env)) process.exit(runCniPlugin());
else main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fatal: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
