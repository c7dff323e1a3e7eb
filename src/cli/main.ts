/**
 * flanprov: the controller CLI. Wiring only: each command lives in its own file and registers itself.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, describeError, exitCodeOf } from '../util/errors.js';
import { VERSION } from '../network/version.js';
import { registerLab } from './lab.js';
import { registerUp } from './up.js';
import { registerCheck } from './check.js';
import { registerStatus } from './status.js';
import { registerDown } from './down.js';
import { registerSwitchBackend } from './switch-backend.js';
import { registerRender } from './render.js';

export function buildProgram(): Command {
  const program = new Command('flanprov')
    .description('Provision flannel container networking onto Linux hosts over SSH')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerLab(program);
  registerUp(program);
  registerCheck(program);
  registerStatus(program);
  registerDown(program);
  registerSwitchBackend(program);
  registerRender(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
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
