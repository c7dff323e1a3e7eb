/**
 * The agent binary as a CNI plugin: when it is run as `flannel` (the name of the link `up` installs in the
 * CNI bin directory, or a hard link; argv[0] is what the runtime executed), or with CNI_COMMAND in its
 * environment, main.ts runs `runCniPlugin` instead of the daemon. Reads the environment and stdin, runs
 * the command, prints the result or the spec's error document on stdout; exit status 0 or 1. Only this
 * directory, network/ and Node's built-ins are loaded on this path (never the etcd client): a plugin call
 * costs a process start, not an agent start.
 */
import { readFileSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { basename } from 'node:path';
import { CNI_PLUGIN_TYPE, CNI_SPEC_VERSIONS } from '../../network/cni.js';
import { VERSION } from '../../network/version.js';
import { parseCniEnv } from './env.js';
import { parseNetConf } from './netconf.js';
import { cmdAdd, cmdCheck, cmdDel, cmdVersion, errorVersion, type CommandDeps } from './commands.js';
import { fileStateStore } from './state.js';
import { processRunner } from './invoke.js';
import { CniError, CniErrorCode, errorDocument } from './spec.js';

/** Whether this process is a CNI plugin call: run as `flannel`, or given CNI_COMMAND. */
export function isCniInvocation(argv0: string, env: NodeJS.ProcessEnv): boolean {
  return basename(argv0) === CNI_PLUGIN_TYPE || env.CNI_COMMAND !== undefined;
}

export interface PluginIo {
  env: NodeJS.ProcessEnv;
  /** stdin's whole content ('' when it is a terminal: a person, not a runtime) */
  stdin: () => string;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  deps?: Partial<CommandDeps>;
}

/** Runs one plugin call; returns the exit status. */
export function runCni(io: PluginIo): number {
  if (io.env.CNI_COMMAND === undefined) {
    // Run by hand (`/opt/cni/bin/flannel`): say what it is, as libcni's plugins do.
    io.stderr(`CNI flannel plugin (flanneld ${VERSION})\nCNI protocol versions supported: ${CNI_SPEC_VERSIONS.join(', ')}\n`);
    return 0;
  }
  let stdin = '';
  let version: string = CNI_SPEC_VERSIONS[CNI_SPEC_VERSIONS.length - 1]!;
  try {
    try {
      stdin = io.stdin();
    } catch (e) {
      throw new CniError(CniErrorCode.IO_FAILURE, 'error reading the network config from stdin', (e as Error).message);
    }
    version = errorVersion(stdin);
    const env = parseCniEnv(io.env);
    if (env.command === 'VERSION') {
      io.stdout(JSON.stringify(cmdVersion(stdin)));
      return 0;
    }
    const conf = parseNetConf(stdin);
    const deps: CommandDeps = {
      store: fileStateStore, runner: processRunner, readFile: (f) => readFileSync(f, 'utf8'), processEnv: io.env, ...io.deps,
    };
    if (env.command === 'ADD') io.stdout(JSON.stringify(cmdAdd(env, conf, deps)));
    else if (env.command === 'DEL') cmdDel(env, conf, deps);
    else cmdCheck(env, conf, deps);
    return 0;
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError(CniErrorCode.INTERNAL, 'internal error in flanneld\'s CNI plugin', (e as Error)?.stack ?? String(e));
    io.stdout(JSON.stringify(errorDocument(err, version)));
    return 1;
  }
}

/** The process entry (main.ts). */
export function runCniPlugin(): number {
  return runCni({
    env: process.env,
    stdin: () => (isatty(0) ? '' : readFileSync(0, 'utf8')),
    stdout: (s) => { writeSync(1, s); },
    stderr: (s) => { writeSync(2, s); },
  });
}
