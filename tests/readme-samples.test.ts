import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Every TypeScript sample in a README is type-checked against the real packages, so
// the documentation cannot drift from the code. A sample is compiled beside its
// README (so it resolves that package's own dependencies) as a module of its own.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SAMPLE_DIR = ".readme-samples";

function readmes(): string[] {
  const found = [join(ROOT, "README.md")];
  for (const group of ["packages", "examples"]) {
    for (const name of readdirSync(join(ROOT, group))) {
      const file = join(ROOT, group, name, "README.md");
      try {
        readFileSync(file);
        found.push(file);
      } catch {
        // a folder without a README has no samples
      }
    }
  }
  return found;
}

function samples(readme: string): string[] {
  const text = readFileSync(readme, "utf8");
  return [...text.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? "");
}

// One TypeScript program over every sample and the ORM types they import (Drizzle,
// Kysely, TypeORM, Prisma): on a busy machine checking it takes close to a minute, about
// the 60 s that vitest.config.ts gives a test.
const TYPE_CHECK_TIMEOUT_MS = 180_000;

describe("README code samples", () => {
  it("type-check against the packages they document", { timeout: TYPE_CHECK_TIMEOUT_MS }, () => {
    const files: string[] = [];
    const dirs = new Set<string>();
    for (const readme of readmes()) {
      // The root README's samples resolve packages the way the tests do.
      const home =
        dirname(readme) === ROOT.replace(/\/$/, "") ? join(ROOT, "tests") : dirname(readme);
      const dir = join(home, SAMPLE_DIR);
      samples(readme).forEach((code, index) => {
        if (!dirs.has(dir)) {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true });
          dirs.add(dir);
        }
        const file = join(dir, `sample-${index + 1}.ts`);
        writeFileSync(file, `${code}\nexport {};\n`);
        files.push(file);
      });
    }
    expect(files.length).toBeGreaterThanOrEqual(5);
    const config = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, "tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        },
      },
    );
    if (!config) throw new Error("cannot read tsconfig.json");
    const program = ts.createProgram(files, { ...config.options, noEmit: true });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(d.file.fileName))
      .map((d) => {
        const file = d.file as ts.SourceFile;
        const { line } = file.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${relative(ROOT, file.fileName)}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });
});
