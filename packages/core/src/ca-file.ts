import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Writes CA certificates (PEM) to a file and returns its absolute path, for consumers
 * that trust a CA only by file name: Prisma's engine (`sslcert`) and libpq-style
 * URLs (`sslrootcert`).
 *
 * The file lives in `<os.tmpdir()>/rds-iam/` (default; `directory` overrides it) and
 * is named after a hash of its content, so the same bundle is written once and
 * reused, and concurrent writers never see a half-written file (write, then rename).
 * CA certificates are public: the file holds no secret.
 */
export async function writeCaFile(
  pems: string | readonly string[],
  directory: string = join(tmpdir(), "rds-iam"),
): Promise<string> {
  const content = `${(typeof pems === "string" ? [pems] : pems).map((pem) => pem.trim()).join("\n")}\n`;
  const digest = createHash("sha256").update(content).digest("hex").slice(0, 16);
  const file = join(directory, `ca-${digest}.pem`);
  if ((await readFile(file, "utf8").catch(() => undefined)) === content) return file;
  await mkdir(directory, { recursive: true });
  const partial = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(partial, content, { mode: 0o644 });
  await rename(partial, file);
  return file;
}
