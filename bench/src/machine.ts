import { readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { serverVersion } from "./databases";

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly databases: Readonly<Record<string, string>>;
  readonly packages: Readonly<Record<string, string>>;
  /** The documented command. */
  readonly command: string;
  /** What actually ran in bench/ (script and arguments). */
  readonly invocation: string;
  readonly startedAt: string;
}

const BENCH_ROOT = fileURLToPath(new URL("..", import.meta.url));

const PACKAGES = [
  "@rds-iam/core",
  "@rds-iam/gateway",
  "@rds-iam/knex",
  "@rds-iam/typeorm",
  "@rds-iam/prisma",
  "@aws-sdk/rds-signer",
  "@aws-sdk/credential-providers",
  "aws-advanced-nodejs-wrapper",
  "pg",
  "mysql2",
] as const;

function packageVersion(name: string): string {
  try {
    const text = readFileSync(`${BENCH_ROOT}node_modules/${name}/package.json`, "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "unknown";
  } catch {
    return "not installed";
  }
}

/** The machine, the software under test and the exact command, for the report. */
export async function machineInfo(): Promise<MachineInfo> {
  const cpus = os.cpus();
  const script = process.env.npm_lifecycle_script;
  const args = process.argv.slice(2).join(" ");
  const invocation =
    script === undefined ? `tsx ${process.argv.slice(1).join(" ")}` : `${script} ${args}`.trim();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    databases: {
      postgres: await serverVersion("postgres"),
      mysql: await serverVersion("mysql"),
    },
    packages: Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)])),
    command: "pnpm bench",
    invocation: `${invocation} (in bench/, Node ${process.version})`,
    startedAt: new Date().toISOString(),
  };
}
