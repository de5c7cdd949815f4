import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultCaDirectory, writeCaFile } from "../src/ca-file";
import { iamDatabaseUrl } from "../src/iam-database-url";
import { SESSION_CREDENTIALS } from "./support";

// Another local user: the attacker. The suite runs as root (here and in CI), which
// can play both sides; elsewhere the chown calls fail loudly rather than skip.
const OTHER_UID = 65534;
const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

describe("writeCaFile", () => {
  let sandbox: string;
  beforeEach(async () => {
    sandbox = await mkdtemp(join(tmpdir(), "rds-iam-ca-test-"));
  });
  afterEach(async () => {
    await rm(sandbox, { recursive: true, force: true });
  });

  it("writes once per content, to a name derived from the content", async () => {
    const dir = join(sandbox, "ca");
    const a = await writeCaFile(["A\n", "B"], dir);
    expect(readFileSync(a, "utf8")).toBe("A\nB\n");
    expect(await writeCaFile(["A", "B\n"], dir)).toBe(a);
    expect(await writeCaFile("C", dir)).not.toBe(a);
  });

  it("defaults to a directory of the current user's own, mode 0700", async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = sandbox;
    try {
      expect(defaultCaDirectory()).toBe(join(sandbox, `rds-iam-${process.getuid?.()}`));
      const file = await writeCaFile("PEM");
      expect(file.startsWith(`${defaultCaDirectory()}/`)).toBe(true);
      const dir = lstatSync(defaultCaDirectory());
      expect(dir.uid).toBe(process.getuid?.());
      expect(dir.mode & 0o777).toBe(0o700);
      expect(lstatSync(file).mode & 0o777).toBe(0o644);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });

  it("refuses a directory another user planted (mode 0777)", async () => {
    const planted = join(sandbox, "planted");
    mkdirSync(planted);
    chmodSync(planted, 0o777);
    chownSync(planted, OTHER_UID, OTHER_UID);
    await expect(writeCaFile("PEM", planted)).rejects.toMatchObject({
      code: "INSECURE_PATH",
      option: "caFile",
      message: expect.stringContaining(`owned by uid ${OTHER_UID}`),
    });
  });

  it("refuses a directory of another user's even if not writable by us", async () => {
    const planted = join(sandbox, "theirs");
    mkdirSync(planted, { mode: 0o755 });
    chownSync(planted, OTHER_UID, OTHER_UID);
    await expect(writeCaFile("PEM", planted)).rejects.toMatchObject({ code: "INSECURE_PATH" });
  });

  it("refuses a directory under an ancestor another user controls", async () => {
    const theirs = join(sandbox, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    const ours = join(theirs, "ours");
    mkdirSync(ours, { mode: 0o700 });
    chownSync(theirs, OTHER_UID, OTHER_UID);
    await expect(writeCaFile("PEM", ours)).rejects.toMatchObject({
      code: "INSECURE_PATH",
      message: expect.stringContaining("could swap the directory"),
    });
  });

  it("refuses our own directory when others may write to it", async () => {
    const open = join(sandbox, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(writeCaFile("PEM", open)).rejects.toMatchObject({
      code: "INSECURE_PATH",
      message: expect.stringContaining("writable by other users"),
    });
    chmodSync(open, 0o775);
    await expect(writeCaFile("PEM", open)).rejects.toMatchObject({ code: "INSECURE_PATH" });
  });

  it("refuses a directory that is a symbolic link", async () => {
    const real = join(sandbox, "real");
    mkdirSync(real, { mode: 0o700 });
    const link = join(sandbox, "link");
    symlinkSync(real, link);
    await expect(writeCaFile("PEM", link)).rejects.toMatchObject({
      code: "INSECURE_PATH",
      message: expect.stringContaining("symbolic link"),
    });
  });

  it("replaces a file of the expected name whose content was changed, or a symlink there", async () => {
    const dir = join(sandbox, "ca");
    const file = await writeCaFile("GOOD", dir);
    writeFileSync(file, "ATTACKER CA\n");
    expect(await writeCaFile("GOOD", dir)).toBe(file);
    expect(readFileSync(file, "utf8")).toBe("GOOD\n");

    const elsewhere = join(sandbox, "elsewhere.pem");
    writeFileSync(elsewhere, "ATTACKER CA\n");
    await rm(file);
    symlinkSync(elsewhere, file);
    expect(await writeCaFile("GOOD", dir)).toBe(file);
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("GOOD\n");
    // The symlink was replaced, not followed.
    expect(readFileSync(elsewhere, "utf8")).toBe("ATTACKER CA\n");
  });

  it("does not trust a file of the right name and content owned by someone else", async () => {
    const dir = join(sandbox, "ca");
    const file = await writeCaFile("GOOD", dir);
    chownSync(file, OTHER_UID, OTHER_UID);
    expect(await writeCaFile("GOOD", dir)).toBe(file);
    expect(lstatSync(file).uid).toBe(process.getuid?.());
  });

  it("the attack on the old path: a planted <tmpdir>/rds-iam, or rds-iam-<uid>, receives nothing", async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = sandbox;
    try {
      // The attacker prepares the shared directory the old code wrote to, and the
      // per-user one this code uses (whose name is predictable).
      const planted = ["rds-iam", `rds-iam-${process.getuid?.()}`].map((name) =>
        join(sandbox, name),
      );
      for (const dir of planted) {
        mkdirSync(dir);
        chmodSync(dir, 0o777);
        chownSync(dir, OTHER_UID, OTHER_UID);
      }
      const url = await iamDatabaseUrl({
        engine: "postgres",
        host: HOST,
        user: "app",
        credentials: SESSION_CREDENTIALS,
      });
      // Not refused (that would let anyone stop this user's URLs until a reboot), and
      // not in a planted directory: in a fresh one of this process's own, mode 0700.
      const caFile = new URL(url).searchParams.get("sslcert") ?? "";
      for (const dir of planted) expect(caFile.startsWith(`${dir}/`)).toBe(false);
      expect(caFile.startsWith(join(sandbox, `rds-iam-${process.getuid?.()}-`))).toBe(true);
      const dir = lstatSync(dirname(caFile));
      expect(dir.uid).toBe(process.getuid?.());
      expect(dir.mode & 0o777).toBe(0o700);
      expect(readFileSync(caFile, "utf8")).toContain("BEGIN CERTIFICATE");
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });

  it("a planted default directory costs one fallback directory per process, none under an unsafe TMPDIR", async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = sandbox;
    try {
      const planted = join(sandbox, `rds-iam-${process.getuid?.()}`);
      mkdirSync(planted, { mode: 0o755 });
      chownSync(planted, OTHER_UID, OTHER_UID);
      // Concurrent first calls share one directory.
      const files = await Promise.all(Array.from({ length: 8 }, (_, i) => writeCaFile(`PEM ${i}`)));
      expect(new Set(files.map((file) => dirname(file))).size).toBe(1);
      expect(readdirSync(sandbox).filter((name) => name.startsWith("rds-iam-")).length).toBe(2);

      // A TMPDIR others may write to, without the sticky bit: refused, nothing made there.
      const shared = join(sandbox, "shared");
      mkdirSync(shared);
      chmodSync(shared, 0o777);
      process.env.TMPDIR = shared;
      for (let i = 0; i < 3; i++) {
        await expect(writeCaFile("PEM")).rejects.toMatchObject({ code: "INSECURE_PATH" });
      }
      expect(readdirSync(shared)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });

  it("a directory reached through a symbolic link is used by its real path", async () => {
    const real = join(sandbox, "real");
    mkdirSync(real, { mode: 0o700 });
    const link = join(sandbox, "link");
    symlinkSync(real, link);
    // The link's owner could re-point it after the checks: the path returned has none.
    const file = await writeCaFile("PEM", join(link, "ca"));
    expect(file.startsWith(`${join(realpathSync(sandbox), "real", "ca")}/`)).toBe(true);
  });
});
