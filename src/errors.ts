// Typed errors with stable codes (in the style of undici's lib/core/errors.js). Every layer throws these;
// only the CLI maps them to exit codes and prints them for a person.

export type ErrorCode =
  | 'E_INPUT' // bad user input: a flag, a config file field, a matrix value
  | 'E_UNIT' // a size, rate or duration that does not parse
  | 'E_STATE' // an API used out of order (a bug in the caller)
  | 'E_TRANSPORT' // a transport failure (all channels lost, peer closed)
  | 'E_PROTOCOL' // a malformed frame or a protocol violation by the peer
  | 'E_AUTH' // authentication failed
  | 'E_MIGRATION' // a migration could not complete
  | 'E_IO' // a file system error
  | 'E_INTERRUPTED' // stopped by Ctrl-C (SIGINT) or SIGTERM after writing what finished
  | 'E_REGRESSION'; // `migbench compare` found a metric worse beyond the threshold

export class MigbenchError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Bad input. `source` names where the value came from (a flag such as `--memory`, or a file path),
 * `path` the field inside it (`axes.networks[2]`), `expected` the accepted form.
 */
export class InputError extends MigbenchError {
  readonly source: string;
  readonly path: string | undefined;
  readonly expected: string;
  readonly got: unknown;
  readonly detail: string | undefined;
  constructor(args: { source: string; path?: string; expected: string; got?: unknown; detail?: string }) {
    const where = args.path ? `${args.source}: ${args.path}` : args.source;
    const got = args.got === undefined ? '' : `, got ${JSON.stringify(args.got)}`;
    const detail = args.detail ? ` (${args.detail})` : '';
    super('E_INPUT', `${where}: expected ${args.expected}${got}${detail}`);
    this.source = args.source;
    this.path = args.path;
    this.expected = args.expected;
    this.got = args.got;
    this.detail = args.detail;
  }
}

/** A unit string that does not parse. Callers usually rethrow it as an InputError naming the flag. */
export class UnitError extends MigbenchError {
  readonly expected: string;
  readonly got: string;
  constructor(expected: string, got: string) {
    super('E_UNIT', `expected ${expected}, got ${JSON.stringify(got)}`);
    this.expected = expected;
    this.got = got;
  }
}

export class StateError extends MigbenchError {
  constructor(message: string) {
    super('E_STATE', message);
  }
}

/** Stopped by a signal; what had finished was kept. Exit 130, like a shell's Ctrl-C. */
export class InterruptedError extends MigbenchError {
  constructor(message: string) {
    super('E_INTERRUPTED', message);
  }
}

/**
 * Exit codes: 2 for bad input, 3 for a failed transfer or migration, 130 when interrupted, 1 for
 * anything else (a regression found by `migbench compare` included).
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof MigbenchError) {
    switch (err.code) {
      case 'E_INPUT':
      case 'E_UNIT':
        return 2;
      case 'E_TRANSPORT':
      case 'E_PROTOCOL':
      case 'E_AUTH':
      case 'E_MIGRATION':
        return 3;
      case 'E_INTERRUPTED':
        return 130;
      default:
        return 1;
    }
  }
  return 1;
}
