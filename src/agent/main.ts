/**
 * flanneld entry point (the single executable's main). Exit codes: 0 clean exit (SIGTERM/SIGINT,
 * -version, -help), 1 fatal error, 2 usage error.
 */
import { setFlagsFromString } from 'node:v8';
import { Agent, FatalError } from './agent.js';
import { describeFlags, parseFlags, usageText, UsageError } from './flags.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

// V8 flags (a SEA cannot take node command-line flags; measured with bench/agent-figures.ts, see the
// README's agent figures): a small young generation, set before the heap grows. --optimize-for-size
// (smaller heap growth steps and code) cut RSS with 1,000 peers by 8-16 MB but slowed start-up, so it is
// switched on once the agent is ready. Not used: --single-threaded-gc (no gain; the agent died under the
// bench), --max-old-space-size=48 (no gain, worse p99 latency), --no-opt (start-to-ready 2-3x slower),
// --jitless and --lite-mode (cannot be set after V8 started: the agent crashes).
setFlagsFromString('--max-semi-space-size=1');

async function main(argv: readonly string[]): Promise<number> {
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
  const log = createLogger(flags.v);
  log.info(`flanneld ${VERSION} (node ${process.version}) starting`);
  log.info(`CLI flags config: {${describeFlags(flags)}}`);
  const agent = new Agent(flags, log, { onReady: () => setFlagsFromString('--optimize-for-size') });
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fatal: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
