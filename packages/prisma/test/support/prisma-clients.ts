import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

/**
 * Generates the test Prisma clients (once per schema change, across parallel test
 * workers) and loads them. Tests see them through the small typed surface below, so
 * type-checking never depends on generated files (a clean clone type-checks before
 * any test has generated anything).
 */

const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));
const GENERATED = join(PACKAGE_DIR, "test", "generated");
export const SCHEMAS = {
  postgres: join(PACKAGE_DIR, "test", "prisma", "postgres", "schema.prisma"),
  mysql: join(PACKAGE_DIR, "test", "prisma", "mysql", "schema.prisma"),
} as const;
export const MYSQL_MIGRATIONS = join(PACKAGE_DIR, "test", "prisma", "mysql", "migrations");

export interface TestUser {
  id: number;
  email: string;
  name: string | null;
}
export interface TestPost {
  id: number;
  title: string;
  published: boolean;
  authorId: number;
}
type Args = Record<string, unknown>;
interface Delegate<T> {
  create(args: Args): Promise<T>;
  createMany(args: Args): Promise<{ count: number }>;
  findUnique(args: Args): Promise<T | null>;
  findUniqueOrThrow(args: Args): Promise<T>;
  findMany(args?: Args): Promise<T[]>;
  update(args: Args): Promise<T>;
  updateMany(args: Args): Promise<{ count: number }>;
  delete(args: Args): Promise<T>;
  deleteMany(args?: Args): Promise<{ count: number }>;
  count(args?: Args): Promise<number>;
}
export interface TestTransactionClient {
  user: Delegate<TestUser & { posts?: TestPost[] }>;
  post: Delegate<TestPost & { author?: TestUser }>;
  $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
}
export interface TestPrismaClient extends TestTransactionClient {
  $transaction<R>(
    fn: (tx: TestTransactionClient) => Promise<R>,
    options?: { timeout?: number; maxWait?: number },
  ): Promise<R>;
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
}
export type TestPrismaClientClass = new (options: { adapter: unknown }) => TestPrismaClient;

const execFileAsync = promisify(execFile);
const STALE_LOCK_MS = 120_000;

/** Loads the generated client for `engine`, generating it first if its schema changed. */
export async function loadPrismaClient(
  engine: "postgres" | "mysql",
): Promise<TestPrismaClientClass> {
  const module = (await import(pathToFileURL(await generatedPrismaClient(engine)).href)) as {
    PrismaClient: TestPrismaClientClass;
  };
  return module.PrismaClient;
}

/**
 * The generated client's entry file for `engine` (`client.ts`), generating it first if
 * its schema changed: for tests that bundle it rather than import it. `moduleFormat:
 * "cjs"` generates a variant for CommonJS bundles (the default ESM client reads
 * `import.meta.url` at load, which a CommonJS bundle does not have).
 */
export async function generatedPrismaClient(
  engine: "postgres" | "mysql",
  moduleFormat: "esm" | "cjs" = "esm",
): Promise<string> {
  if (moduleFormat === "esm") {
    const out = join(GENERATED, engine);
    await ensureGenerated(engine, SCHEMAS[engine], out);
    return join(out, "client.ts");
  }
  const out = join(GENERATED, `${engine}-cjs`);
  const schema = join(GENERATED, `${engine}-cjs.prisma`);
  const text = (await readFile(SCHEMAS[engine], "utf8")).replace(
    /output\s*=\s*"[^"]*"/,
    `output = ${JSON.stringify(out)}\n  moduleFormat = "cjs"`,
  );
  await mkdir(GENERATED, { recursive: true });
  if ((await readFile(schema, "utf8").catch(() => "")) !== text) await writeFile(schema, text);
  await ensureGenerated(`${engine}-cjs`, schema, out);
  return join(out, "client.ts");
}

async function ensureGenerated(name: string, schemaFile: string, out: string): Promise<void> {
  const prismaCli = prismaCliPath();
  const schema = await readFile(schemaFile, "utf8");
  const version = JSON.parse(
    await readFile(join(dirname(prismaCli), "..", "package.json"), "utf8"),
  ) as { version: string };
  const want = createHash("sha256").update(`${version.version}\n${schema}`).digest("hex");
  const stampFile = join(out, ".stamp");
  const current = async () => (await readFile(stampFile, "utf8").catch(() => "")) === want;
  if (await current()) return;

  await mkdir(GENERATED, { recursive: true });
  const lock = join(GENERATED, `.${name}.lock`);
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // Another worker is generating: wait for it, or take over a stale lock.
      if (await current()) return;
      const since = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    if (await current()) return;
    await rm(out, { recursive: true, force: true });
    await execFileAsync(process.execPath, [prismaCli, "generate", "--schema", schemaFile], {
      cwd: dirname(schemaFile),
      env: {
        ...process.env,
        // `prisma generate` needs no schema engine, but the CLI looks for one at start
        // and would try to download it; any existing file satisfies the check.
        PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
        CHECKPOINT_DISABLE: "1",
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
      },
    });
    await writeFile(stampFile, want);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function prismaCliPath(): string {
  const require = createRequire(join(PACKAGE_DIR, "package.json"));
  const manifest = require.resolve("prisma/package.json");
  const { bin } = require(manifest) as { bin: Record<string, string> };
  return join(dirname(manifest), bin.prisma ?? "build/index.js");
}

/** PostgreSQL tables for the test schema (the schema engine cannot run offline). */
export const POSTGRES_TABLES = [
  `CREATE TABLE "users" ("id" SERIAL PRIMARY KEY, "email" TEXT NOT NULL UNIQUE, "name" TEXT)`,
  `CREATE TABLE "posts" ("id" SERIAL PRIMARY KEY, "title" TEXT NOT NULL, "published" BOOLEAN NOT NULL DEFAULT false, "authorId" INTEGER NOT NULL REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE)`,
];
