/**
 * What a refusal by sudo means for the user. A wrong become password, a user sudo does not allow, and a sudo
 * that wants a password when none was given are authentication failures like a rejected login: exit 3,
 * naming the host and the login user, with what to change. sudo's own words are passed on; the password is
 * never part of them (it only ever travels on stdin, command.ts).
 */
import { ConnectError } from './errors.js';
import { SUDO_BAD_PASSWORD_EXIT } from './command.js';

const REJECTED = 'flanprov: sudo rejected the become password';

/** The ConnectError for a script result that sudo refused, or undefined when sudo ran it. */
export function sudoRefusal(r: { code: number | null; stderr: string }, host: string, loginUser: string, becomeUser: string): ConnectError | undefined {
  if (r.code === SUDO_BAD_PASSWORD_EXIT && r.stderr.includes(REJECTED)) {
    const line = r.stderr.split('\n').find((l) => l.startsWith(REJECTED)) ?? '';
    const said = line.slice(REJECTED.length).replace(/^:\s*/, '').trim();
    if (/not in the sudoers file|is not allowed to (execute|run)|may not run sudo/.test(said)) {
      return new ConnectError('auth', `sudo does not let ${loginUser} run commands as ${becomeUser}: ${said}`, host,
        `allow ${loginUser} in the host's sudoers (e.g. a line in /etc/sudoers.d/), or log in as a user who may`);
    }
    return new ConnectError('auth', `sudo rejected the become password of ${loginUser}${said ? ` (sudo: ${said.replace(/^sudo:\s*/, '')})` : ''}`, host,
      `check ansible_become_password (sudo asks for ${loginUser}'s own password, or root's with "Defaults rootpw"/"targetpw")`);
  }
  if (r.code === 1 && /^sudo: (a password is required|a terminal is required)/m.test(r.stderr)) {
    return new ConnectError('auth', `sudo needs a password for ${loginUser} and none was given`, host,
      "set ansible_become_password: \"{{ lookup('env', 'SUDO_PASSWORD') }}\" (or export FLANPROV_BECOME_PASSWORD), or allow passwordless sudo (NOPASSWD)");
  }
  return undefined;
}
