/**
 * Exit codes of every flanprov command (documented in the README; stable for CI scripts).
 * flanneld (the agent) uses its own: 0 clean exit, 1 fatal error, 2 usage error.
 */
export const ExitCode = {
  OK: 0,
  /** an unexpected internal error (a bug): the message says so */
  INTERNAL: 1,
  /** bad input: command line, inventory, network config, or a preflight refusal; nothing changed */
  INVALID_INPUT: 2,
  /** a host could not be reached, authenticated, or its host key did not match */
  UNREACHABLE: 3,
  /** a step failed on a host while changing it */
  STEP_FAILED: 4,
  /** everything was applied but the verification (ping matrix, agent health) failed */
  VERIFY_FAILED: 5,
  /** another flanprov run holds the lock on a host; nothing was changed */
  LOCKED: 6,
  /** interrupted (Ctrl-C / SIGTERM): the step in flight was finished or undone, the hosts' state printed */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: a clear message, where it happened, and the exit code it maps to. */
export class FlanprovError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** e.g. "inventory.yml:12:5" or a host name */
    readonly where?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'FlanprovError';
  }

  /**
   * The hosts a phase-wide error is about, each with its own reason (e.g. the hosts a preflight refusal
   * names): the runner shows and counts each of them as failed.
   */
  hostMessages?: ReadonlyMap<string, string>;

  withHosts(m: ReadonlyMap<string, string>): this {
    if (m.size) this.hostMessages = m;
    return this;
  }
}

export class InvalidInputError extends FlanprovError {
  constructor(message: string, where?: string, hint?: string) {
    super(message, ExitCode.INVALID_INPUT, where, hint);
  }
}

export class UnreachableError extends FlanprovError {
  constructor(message: string, where?: string, hint?: string) {
    super(message, ExitCode.UNREACHABLE, where, hint);
  }
}

/** The run was interrupted (Ctrl-C / SIGTERM): exit 130; the message says what was finished or undone. */
export class InterruptedError extends FlanprovError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.INTERRUPTED, undefined, hint);
    this.name = 'InterruptedError';
  }
}

export class StepFailedError extends FlanprovError {
  constructor(message: string, where?: string, hint?: string) {
    super(message, ExitCode.STEP_FAILED, where, hint);
  }
}

export class VerifyFailedError extends FlanprovError {
  constructor(message: string, where?: string, hint?: string) {
    super(message, ExitCode.VERIFY_FAILED, where, hint);
  }
}

/** The exit code for any error: a FlanprovError carries its own; anything else is an internal error. */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof FlanprovError ? err.exitCode : ExitCode.INTERNAL;
}

/** The text shown for any error: "where: message (hint)". */
export function describeError(err: unknown): string {
  if (err instanceof FlanprovError) {
    const where = err.where ? `${err.where}: ` : '';
    return `${where}${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}`;
  }
  if (err instanceof Error) return `internal error: ${err.stack ?? err.message}`;
  return `internal error: ${String(err)}`;
}
