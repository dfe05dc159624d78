/**
 * `triage` command dispatch. Each command lives in its own module and is listed in COMMANDS;
 * adding `replay`, `query` or `redrive` means adding a module and a line here.
 */
import packageJson from "../../package.json" with { type: "json" };
import { checkCommand } from "./check.js";
import { queryCommand } from "./query.js";
import { redriveCommand } from "./redrive.js";
import { replayCommand } from "./replay.js";
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIo, type Command } from "./command.js";

export const COMMANDS: readonly Command[] = [checkCommand, queryCommand, replayCommand, redriveCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return `Usage: triage <command> [options]

Streaming detection and alert triage for Elastic EQL rules, run locally.

Commands:
${list}

Options:
  -h, --help     show this help ("triage <command> --help" for a command's help)
  --version      print the version

Exit status: 0 success, 1 the command found problems, 2 usage error.
`;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(mainHelp());
    return EXIT_USAGE;
  }
  if (first === "-h" || first === "--help") {
    io.stdout(mainHelp());
    return EXIT_OK;
  }
  if (first === "--version") {
    io.stdout(`${packageJson.version}\n`);
    return EXIT_OK;
  }
  if (first === "help") {
    const target = rest[0] === undefined ? undefined : COMMANDS.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && target === undefined) return unknownCommand(rest[0], io);
    io.stdout(target?.help ?? mainHelp());
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (command === undefined) return unknownCommand(first, io);
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`triage ${command.name}: ${err.message}\nRun "triage ${command.name} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

function unknownCommand(name: string, io: CliIo): number {
  const what = name.startsWith("-") ? `unknown option "${name}"` : `unknown command "${name}"`;
  const names = COMMANDS.map((c) => c.name).join(", ");
  io.stderr(`triage: ${what}\nCommands: ${names}\nRun "triage --help" for usage.\n`);
  return EXIT_USAGE;
}
