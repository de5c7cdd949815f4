import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writePublicFile } from "../src/public-file";

describe("writePublicFile (the gateway CLI's --ca-out)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rds-iam-gw-file-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the content, mode 0644, and returns the absolute path", () => {
    const path = writePublicFile(join(dir, "ca.pem"), "PEM\n");
    expect(readFileSync(path, "utf8")).toBe("PEM\n");
    expect(lstatSync(path).mode & 0o777).toBe(0o644);
  });

  it("replaces a symlink planted at the name instead of writing through it", () => {
    const victim = join(dir, "victim");
    writeFileSync(victim, "precious\n");
    const target = join(dir, "ca.pem");
    symlinkSync(victim, target);
    writePublicFile(target, "PEM\n");
    expect(lstatSync(target).isSymbolicLink()).toBe(false);
    expect(readFileSync(target, "utf8")).toBe("PEM\n");
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });
});
