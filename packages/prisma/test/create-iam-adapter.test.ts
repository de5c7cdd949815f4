import { inspect } from "node:util";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createIamAdapter } from "../src/index";
import { IamPrismaMariadbAdapterFactory } from "../src/mariadb-adapter";
import { IamPrismaPgAdapterFactory } from "../src/pg-adapter";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDEXAMPLEPRISMA01",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzPRISMAKEY",
});
const base = { host: HOST, user: "app", database: "app", credentials: CREDENTIALS };

describe("createIamAdapter", () => {
  it("builds a pg adapter factory for postgres and its aliases, connecting nothing yet", () => {
    for (const engine of ["postgres", "postgresql", "pg", "aurora-postgresql"] as const) {
      const adapter = createIamAdapter({ engine, ...base, max: 3 });
      expect(adapter).toBeInstanceOf(IamPrismaPgAdapterFactory);
      expect(adapter).toMatchObject({ provider: "postgres", adapterName: "@prisma/adapter-pg" });
      expect(adapter.auth.target).toMatchObject({ host: HOST, port: 5432, region: "us-east-1" });
      expect(adapter.auth.stats().mints).toBe(0);
    }
  });

  it("builds a mariadb adapter factory for mysql and its aliases", () => {
    for (const engine of ["mysql", "mariadb", "mysql2", "aurora-mysql"] as const) {
      const adapter = createIamAdapter({ engine, ...base, connectionLimit: 2 });
      expect(adapter).toBeInstanceOf(IamPrismaMariadbAdapterFactory);
      expect(adapter).toMatchObject({ provider: "mysql", adapterName: "@prisma/adapter-mariadb" });
      expect(adapter.auth.target.port).toBe(3306);
      expect(adapter.pools()).toEqual([]);
    }
  });

  it("refuses a connection string and a password, saying why", () => {
    expect(() =>
      createIamAdapter({
        engine: "postgres",
        ...base,
        connectionString: "postgresql://app@db/app",
      } as never),
    ).toThrow(
      expect.objectContaining({
        code: "CONFLICTING_OPTIONS",
        option: "connectionString",
        message: expect.stringContaining("empty password"),
      }),
    );
    for (const engine of ["postgres", "mysql"] as const) {
      expect(() => createIamAdapter({ engine, ...base, password: "hunter2" } as never)).toThrow(
        expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "password" }),
      );
    }
  });

  it("refuses a ready-made pg.Pool: its password is fixed", () => {
    const pool = new pg.Pool({ host: HOST });
    try {
      expect(() => createIamAdapter(pool as never)).toThrow(
        expect.objectContaining({
          code: "INVALID_OPTION",
          message: expect.stringContaining("pg.Pool"),
        }),
      );
    } finally {
      void pool.end();
    }
  });

  it("validates options up front, naming them", () => {
    expect(() => createIamAdapter({ ...base, engine: "oracle" } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "engine" }),
    );
    expect(() => createIamAdapter({ engine: "postgres", user: "app" } as never)).toThrow(
      expect.objectContaining({ code: "MISSING_OPTION", option: "host" }),
    );
    expect(() => createIamAdapter({ engine: "mysql", ...base, host: "10.0.0.7" })).toThrow(
      expect.objectContaining({ code: "IAM_HOST_REQUIRED", option: "iamHost" }),
    );
    expect(() => createIamAdapter({ engine: "mysql", ...base, connectionLimit: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "connectionLimit" }),
    );
    expect(() =>
      createIamAdapter({ engine: "mysql", ...base, acquireTimeout: "soon" as unknown as number }),
    ).toThrow(expect.objectContaining({ code: "INVALID_OPTION", option: "acquireTimeout" }));
    expect(() => createIamAdapter(undefined as never)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
  });

  it("refuses plaintext unless explicitly allowed, and then only to loopback", () => {
    for (const engine of ["postgres", "mysql"] as const) {
      expect(() => createIamAdapter({ engine, ...base, ssl: false })).toThrow(
        expect.objectContaining({ code: "PLAINTEXT_REFUSED" }),
      );
      expect(() =>
        createIamAdapter({ engine, ...base, ssl: false, iamAllowPlaintext: true }),
      ).toThrow(expect.objectContaining({ code: "PLAINTEXT_REFUSED" }));
      expect(() =>
        createIamAdapter({
          engine,
          ...base,
          host: "127.0.0.1",
          iamHost: HOST,
          ssl: false,
          iamAllowPlaintext: true,
        }),
      ).not.toThrow();
    }
  });

  it("shows no secret in JSON or inspect output", () => {
    for (const engine of ["postgres", "mysql"] as const) {
      const adapter = createIamAdapter({ engine, ...base });
      const text = `${JSON.stringify(adapter)}\n${inspect(adapter, { depth: 6, showHidden: true })}`;
      expect(text).not.toContain(CREDENTIALS.secretAccessKey);
      expect(text).toContain(HOST);
    }
  });
});
