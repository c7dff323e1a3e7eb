/**
 * flanneld entry point (the single executable's main). Exit codes: 0 clean exit (SIGTERM/SIGINT,
 * -version, -help), 1 fatal error, 2 usage error.
 */
import { setFlagsFromString } from 'node:v8';
import { Agent, FatalError } from './agent.js';
import { describeFlags, parseFlags, usageText, UsageError } from './flags.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

// Keep the young generation small: the agent allocates little and long-lived, and a SEA cannot take
// node command-line flags. Must run before the heap grows. (Measured in bench/agent-rss.ts.)
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
  const agent = new Agent(flags, log);
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
