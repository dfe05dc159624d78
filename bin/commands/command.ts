/**
 * The shape every `triage` subcommand has. A command gets its arguments (after the command name)
 * and an IO object, writes its output through it and returns the exit code; it never calls
 * `process.exit`, so it can run in-process in tests and output is never cut off.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
  /** Standard input, for commands that read `-`. */
  readonly stdin?: () => AsyncIterable<Uint8Array | string>;
  /** Standard output is a terminal (colour is welcome). */
  readonly isTTY?: boolean;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full `--help` text. */
  readonly help: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

export const EXIT_OK = 0;
/** The command ran and found problems (a rule failed to load or compile, ...). */
export const EXIT_FAILED = 1;
/** Bad command line. */
export const EXIT_USAGE = 2;

/** A bad command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** `util.parseArgs` in strict mode with positionals, turning its errors into `UsageError`s. */
export function parseCommandLine<const O extends Options>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError((err as Error).message, { cause: err });
    }
    throw err;
  }
}
