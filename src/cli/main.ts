/**
 * flanprov: the controller CLI. Wiring only: each command lives in its own file and defines its options and
 * action on the command object it is given.
 *
 * Start-up: a command's module (and with it the etcd client, ssh2, listr2, ajv, yaml, handlebars) is
 * loaded only when that command runs. The table below is what `flanprov --help` lists without loading any of
 * them; `--version` loads nothing but commander.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, describeError, exitCodeOf } from '../util/errors.js';
import { VERSION } from '../network/version.js';

export interface CommandEntry {
  name: string;
  /** what `flanprov --help` shows after the name: the usage the module's definition yields (a unit test checks it) */
  usage: string;
  description: string;
  /** the module's definition: adds arguments, options, subcommands and the action to the command */
  load(): Promise<(c: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'lab', usage: '[options] [command]',
    description: 'a real multi-host cluster on this Linux machine (systemd-nspawn hosts, etcd, Docker)',
    load: async () => (await import('./lab.js')).defineLab,
  },
  {
    name: 'up', usage: '[options] [inventory]',
    description: 'provision or converge the whole cluster, then verify it with cross-host container pings',
    load: async () => (await import('./up.js')).defineUp,
  },
  {
    name: 'check', usage: '[options]',
    description: 'read-only: preflight + agents healthy + leases + ping matrix; the quorum of an etcd flanprov runs',
    load: async () => (await import('./check.js')).defineCheck,
  },
  {
    name: 'status', usage: '[options]',
    description: 'lease table from etcd (subnet, host, public IP, backend, expiry) + agent health; the etcd members flanprov runs',
    load: async () => (await import('./status.js')).defineStatus,
  },
  {
    name: 'down', usage: '[options]',
    description: 'remove flannel from the hosts (agent, units, devices, routes, rules, leases); Docker back on its default bridge',
    load: async () => (await import('./down.js')).defineDown,
  },
  {
    name: 'switch-backend', usage: '[options] <type>',
    description: 'move a live cluster to another backend (vxlan | host-gw) with near-zero disruption',
    load: async () => (await import('./switch-backend.js')).defineSwitchBackend,
  },
  {
    name: 'adopt', usage: '[options]',
    description: 'describe a cluster built by hand (its flanneld flags, etcd\'s config) as an inventory for `up --adopt`',
    load: async () => (await import('./adopt.js')).defineAdopt,
  },
  {
    name: 'render', usage: '[options]',
    description: 'print every file `up` would write, for review (no SSH needed)',
    load: async () => (await import('./render.js')).defineRender,
  },
];

/**
 * The program with every command as a stub (name, usage, description); `define` names the commands whose
 * module is loaded and defined on its stub ('all' for tests and completions).
 */
export async function buildProgram(define: readonly string[] | 'all' = 'all'): Promise<Command> {
  const program = new Command('flanprov')
    .description('Provision flannel container networking onto Linux hosts over SSH')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureHelp({ subcommandTerm: (c) => `${c.name()} ${c.usage()}`.trimEnd() });
  for (const entry of COMMANDS) {
    const c = program.command(entry.name).description(entry.description).usage(entry.usage);
    if (define === 'all' || define.includes(entry.name)) (await entry.load())(c);
  }
  return program;
}

/**
 * The command `argv` runs: the first operand, or the one after `help`. The program's own options are only
 * -h/-V (which end the run), so nothing but a command name can come first; anything else (none, unknown,
 * an option) is commander's to report with the stubs alone.
 */
export function invokedCommand(args: readonly string[]): string | undefined {
  const first = args[0] === 'help' ? args[1] : args[0];
  return COMMANDS.some((c) => c.name === first) ? first : undefined;
}

async function main(argv: string[]): Promise<number> {
  try {
    const name = invokedCommand(argv.slice(2));
    const program = await buildProgram(name ? [name] : []);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.INVALID_INPUT;
    }
    process.stderr.write(`flanprov: ${describeError(err)}\n`);
    return exitCodeOf(err);
  }
}

if (require.main === module) {
  // Exit once stdout/stderr are flushed (a pipe may still hold output), even if a library left a handle open.
  main(process.argv).then((code) => {
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
