/**
 * How remote commands are built. Scripts run under `bash --noprofile --norc` (a slow root ~/.bashrc costs
 * ~80 ms per call) and, for privileged steps, under sudo:
 *
 * - login user is root and become_user is root: no sudo;
 * - no become password: `sudo -n -u USER -- CMD` (fails at once instead of hanging when sudo wants one);
 * - with a become password: the password is the first line of stdin, never on a command line and never
 *   logged. A small wrapper reads it into a shell variable, uses `sudo -n` when no password is needed after
 *   all (NOPASSWD), else checks it once (`sudo -k -S -p '' true`, so a wrong password cannot swallow script
 *   lines as further attempts) and then pipes it, followed by the rest of stdin, into `sudo -k -S -p ''`.
 *   The variable is not exported and printf is a builtin: the password is in no process's argv or environment.
 *   sudo reads the password byte by byte up to the newline, so CMD gets exactly the remaining stdin.
 */

/** Quote for a POSIX shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export const BASH = 'bash --noprofile --norc';

/** Exit status the wrapper uses when the sudo password is rejected. */
export const SUDO_BAD_PASSWORD_EXIT = 97;

export interface PrivilegeSpec {
  loginUser: string;
  becomeUser: string;
  /** run as becomeUser */
  sudo: boolean;
  hasPassword: boolean;
}

export interface BuiltCommand {
  /** the exec request's command line (no secret in it) */
  command: string;
  /** bytes to send first on stdin (the password line), or '' */
  stdinPrefix: string;
}

export function needsSudo(p: PrivilegeSpec): boolean {
  return p.sudo && !(p.loginUser === 'root' && p.becomeUser === 'root');
}

/**
 * Wrap `inner` (a shell command line that reads its own stdin, e.g. `bash --noprofile --norc -s`) for
 * privilege escalation. `password` is only used for stdinPrefix.
 */
export function buildCommand(inner: string, p: PrivilegeSpec, password?: string): BuiltCommand {
  if (!needsSudo(p)) return { command: inner, stdinPrefix: '' };
  const u = shq(p.becomeUser);
  if (!p.hasPassword || password === undefined) return { command: `sudo -n -u ${u} -- ${inner}`, stdinPrefix: '' };
  const wrapper = [
    'IFS= read -r FP_PW || exit 1',
    `if sudo -n -u ${u} true 2>/dev/null; then unset FP_PW; exec sudo -n -u ${u} -- ${inner}; fi`,
    // sudo's own complaint (its last line: "1 incorrect password attempt", "... is not in the sudoers file") is
    // passed on; it never holds the password
    `FP_ERR=$(printf '%s\\n' "$FP_PW" | sudo -k -S -p '' -u ${u} true 2>&1 >/dev/null) || { printf '%s\\n' "flanprov: sudo rejected the become password: \${FP_ERR##*$'\\n'}" >&2; exit ${SUDO_BAD_PASSWORD_EXIT}; }`,
    `{ printf '%s\\n' "$FP_PW"; unset FP_PW; exec cat; } | sudo -k -S -p '' -u ${u} -- ${inner}`,
  ].join('\n');
  return { command: `${BASH} -c ${shq(wrapper)}`, stdinPrefix: `${password}\n` };
}

/** The command for run(): the script comes on stdin. */
export function scriptCommand(p: PrivilegeSpec, password?: string): BuiltCommand {
  return buildCommand(`${BASH} -s`, p, password);
}

/** The command for a script on the command line with data on its stdin (uploads). */
export function scriptWithInputCommand(script: string, p: PrivilegeSpec, password?: string): BuiltCommand {
  return buildCommand(`${BASH} -c ${shq(script)}`, p, password);
}

/** `export K='v'` lines for RunOptions.env. */
export function envPrelude(env: Record<string, string> | undefined): string {
  if (!env) return '';
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name: ${k}`);
    return `export ${k}=${shq(v)}\n`;
  }).join('');
}

/**
 * A script as run() sends it: one `{ ... }` compound command. bash parses a compound command whole before
 * running any of it, so a script cut short by a closed connection runs nothing (a syntax error), never its
 * first half; and a command in it that reads stdin cannot swallow the rest of the script.
 */
export function wholeScript(script: string): string {
  return `{\n${script}\n}\n`;
}
