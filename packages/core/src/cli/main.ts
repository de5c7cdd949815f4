import { readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { isRdsIamError } from "../errors";
import { type CliIo, COMMANDS } from "./commands";
import { UsageError } from "./options";

const USAGE = `Usage: rds-iam <command> [options]

AWS RDS / Aurora IAM database authentication from the shell.

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`)
  .join("\n")}

Run "rds-iam <command> --help" for a command's options.
Credentials come from the AWS SDK's default provider chain (--profile picks a profile).

Options:
  -h, --help     Show this help.
  -v, --version  Show the version.`;

/** Runs the CLI; returns the exit status (0 ok, 1 failure, 2 usage error). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const command = topic === undefined ? undefined : COMMANDS[topic];
    // No command at all is a usage error: the usage goes to stderr, like every error,
    // so that `$(rds-iam)` captures nothing and the exit status says why.
    if (name === undefined) {
      io.stderr(`${USAGE}\n`);
      return 2;
    }
    io.stdout(`${command?.help ?? USAGE}\n`);
    return 0;
  }
  if (name === "-v" || name === "--version") {
    io.stdout(`${version()}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.stderr(
      `rds-iam: unknown command ${JSON.stringify(name)}. Commands: ${Object.keys(COMMANDS).join(", ")}.\n`,
    );
    return 2;
  }
  try {
    const status = await command.run(rest, io);
    return typeof status === "number" ? status : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`rds-iam ${name}: ${error.message}\nRun "rds-iam ${name} --help" for usage.\n`);
      return 2;
    }
    // Messages only, never stacks or causes: our messages are written to hold no
    // secret, and a driver's or SDK's nested error is not ours to vouch for.
    const code = isRdsIamError(error) ? ` [${error.code}]` : "";
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`rds-iam ${name}: ${message}${code}\n`);
    return 1;
  }
}

function version(): string {
  // Found from the script's own path, which works for the sources (tsx), the ESM
  // and CJS builds, and an installed bin symlink alike.
  let dir: string;
  try {
    dir = dirname(realpathSync(process.argv[1] ?? "."));
  } catch {
    return "unknown";
  }
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === "@rds-iam/core") return manifest.version ?? "unknown";
    } catch {
      // No manifest here: look one level up.
    }
  }
  return "unknown";
}
