import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Every example runs with the one command its README documents, against the machine's
// real PostgreSQL and MariaDB behind a gateway. A database that is down makes the
// example exit non-zero, and the test fails with its output: nothing is skipped.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TIMEOUT_MS = 120_000;

interface Example {
  readonly dir: string;
  readonly pkg: string;
  /** Lines the example prints only if it got through to the end. */
  readonly expected: readonly RegExp[];
}

/** knex: a second knex instance reuses the first one's token; only the retry mints. */
const AFTER_REJECTION_KNEX =
  /^after a rejected login: 2 todos, 1 token minted \(the retry's; the first login reused the earlier instance's\)$/m;
/** TypeORM: the same DataSource, re-initialized: its first token, then the retry's. */
const AFTER_REJECTION = /^after a rejected login: 2 todos, 2 tokens minted \(1 \+ 1 retry\)$/m;
/** A second pool (or postgres.js sql) reuses the first one's token; only the retry mints. */
const afterRejectionSecondClient = (client: "pool" | "sql") =>
  new RegExp(
    `^after a rejected login: 2 todos, 1 token minted \\(the retry's; the first login reused the earlier ${client}'s\\)$`,
    "m",
  );
const ONE_REJECTION = /^gateway: 2 logins accepted, rejected \{"injected":1\}$/m;

const EXAMPLES: readonly Example[] = [
  {
    dir: "knex-postgres",
    pkg: "@rds-iam-examples/knex-postgres",
    expected: [/^migrations applied: 001_create_todos$/m, AFTER_REJECTION_KNEX, ONE_REJECTION],
  },
  {
    dir: "knex-mysql",
    pkg: "@rds-iam-examples/knex-mysql",
    expected: [
      /^\[mysql2\] after a rejected login: 2 todos, 1 token minted \(the retry's; the first login reused the earlier instance's\)$/m,
      /^\[mariadb\] after a rejected login: 4 todos, 1 token minted \(the retry's; the first login reused the earlier instance's\)$/m,
      /^gateway: 4 logins accepted, rejected \{"injected":2\}$/m,
    ],
  },
  {
    dir: "typeorm-postgres",
    pkg: "@rds-iam-examples/typeorm-postgres",
    expected: [/^migrations applied: CreateTodos1700000000000$/m, AFTER_REJECTION, ONE_REJECTION],
  },
  {
    dir: "typeorm-mysql",
    pkg: "@rds-iam-examples/typeorm-mysql",
    expected: [/^migrations applied: CreateTodos1700000000000$/m, AFTER_REJECTION, ONE_REJECTION],
  },
  {
    dir: "sequelize-postgres",
    pkg: "@rds-iam-examples/sequelize-postgres",
    expected: [
      /^table created: todos$/m,
      AFTER_REJECTION,
      /^gateway: 4 logins accepted, rejected \{"injected":1\}$/m,
    ],
  },
  {
    dir: "mikro-orm-mysql",
    pkg: "@rds-iam-examples/mikro-orm-mysql",
    expected: [
      /^\[mysql2\] migrations applied: Migration20260101000000$/m,
      /^\[mysql2\] after a rejected login: 2 todos, 2 tokens minted, 1 rejected token dropped$/m,
      /^\[mariadb\] after a rejected login: 4 todos, 1 token minted, 1 rejected token dropped$/m,
      /^gateway: 4 logins accepted, rejected \{"injected":2\}$/m,
    ],
  },
  {
    dir: "prisma-postgres",
    pkg: "@rds-iam/example-prisma-postgres",
    expected: [
      /^Books by Ursula K\. Le Guin after the transaction: 3$/m,
      /^IAM logins accepted: [1-9]\d*, rejected: \{\}; tokens minted: 1$/m,
    ],
  },
  {
    dir: "prisma-mysql",
    pkg: "@rds-iam/example-prisma-mysql",
    expected: [
      /^Migrations applied: 20260101000000_init$/m,
      /^Books by Octavia E\. Butler after the transaction: 3$/m,
      /^IAM logins accepted: [1-9]\d*, rejected: \{\}; tokens minted by the app's adapter: 0 \(the migration run's token, shared in the process, served its logins\)$/m,
    ],
  },
  {
    dir: "drizzle-postgres",
    pkg: "@rds-iam-examples/drizzle-postgres",
    expected: [
      /^migrations applied: 0000_create_todos$/m,
      afterRejectionSecondClient("pool"),
      ONE_REJECTION,
    ],
  },
  {
    dir: "drizzle-postgres-js",
    pkg: "@rds-iam-examples/drizzle-postgres-js",
    expected: [
      /^migrations applied: 0000_create_todos$/m,
      afterRejectionSecondClient("sql"),
      ONE_REJECTION,
    ],
  },
  {
    dir: "kysely-mysql",
    pkg: "@rds-iam-examples/kysely-mysql",
    expected: [
      /^migrations applied: 2026_01_01_create_todos$/m,
      afterRejectionSecondClient("pool"),
      ONE_REJECTION,
    ],
  },
];

interface Run {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never throws, so a failure shows the whole output. */
function run(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
        timeout: TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number | string }).code ?? error.message) : 0;
        resolve({ code: error?.killed ? `killed (${error.signal})` : code, stdout, stderr });
      },
    );
  });
}

describe("examples", () => {
  for (const example of EXAMPLES) {
    const args = ["--filter", example.pkg, "start"];

    it(
      `${example.dir}: \`pnpm ${args.join(" ")}\` exits 0 and gets to the end`,
      async () => {
        // The command run here is the one the README tells readers to run.
        const readme = readFileSync(join(ROOT, "examples", example.dir, "README.md"), "utf8");
        expect(readme).toContain(`pnpm ${args.join(" ")}`);

        const started = performance.now();
        const result = await run("pnpm", args);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`${example.dir}: exit ${result.code} in ${seconds} s`);

        const output = `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
        expect(result.code, output).toBe(0);
        for (const line of example.expected) expect(result.stdout, output).toMatch(line);
        // No token material in anything an example prints.
        expect(result.stdout + result.stderr).not.toMatch(
          /X-Amz-(Signature|Credential|Security-Token)/,
        );
      },
      TIMEOUT_MS + 30_000,
    );
  }
});
