import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MYSQL_BACKEND, POSTGRES_BACKEND } from "./support/databases";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

describe("pnpm demo", () => {
  it("shows every ORM logging in across token and credential rotation, and exits 0", async () => {
    const { stdout, stderr } = await run("pnpm", ["demo"], {
      cwd: ROOT,
      env: {
        ...process.env,
        NO_COLOR: "1",
        DEMO_POSTGRES_URL: `postgres://${POSTGRES_BACKEND.adminUser}@${POSTGRES_BACKEND.host}:${POSTGRES_BACKEND.port}/${POSTGRES_BACKEND.adminDatabase}`,
        DEMO_MYSQL_URL: `mysql://${MYSQL_BACKEND.adminUser}@${MYSQL_BACKEND.host}:${MYSQL_BACKEND.port}/test`,
      },
      timeout: 120_000,
    });
    for (const orm of ["knex", "TypeORM", "Prisma"]) {
      for (const database of ["PostgreSQL (embedded)", "PostgreSQL", "MySQL"]) {
        const lines = stdout
          .split("\n")
          .filter((l) => l.includes(`✔ ${orm.padEnd(8)} ${database}:`));
        // One line per phase: first login, after 16 minutes, after 76 minutes.
        expect(lines, `${orm} on ${database}`).toHaveLength(3);
      }
    }
    expect(stdout).toMatch(/the start-up token, reused: PAM authentication failed/);
    expect(stdout).toMatch(/sets of keys issued \(rotated [1-9]\d* times?\)/);
    expect(stdout).toMatch(/Done in [\d.]+ s/);
    // No token material in anything the demo prints.
    expect(stdout).not.toMatch(/X-Amz-(Signature|Credential|Security-Token)/);
    // Nothing that does not help a first-time reader (Prisma's generate chatter).
    expect(`${stdout}${stderr}`).not.toContain("Prisma schema loaded");
  }, 150_000);
});
