import {
  createIamAuth,
  iamDatabaseUrl,
  isRdsIamError,
  mysql2IamConfig,
  pgIamConfig,
  TokenCache,
} from "@rds-iam/core";
import { createMariadbConnectionFactory } from "@rds-iam/core/driver";
import { iamConnection } from "@rds-iam/knex";
import { createIamAdapter, iamDatasourceUrl } from "@rds-iam/prisma";
import { withIamAuth } from "@rds-iam/typeorm";
import * as mariadb from "mariadb";
import { describe, expect, it } from "vitest";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const CREDENTIALS = { accessKeyId: "AKIDEXAMPLETYPO01", secretAccessKey: "typo-secret-key-value" };
const BASE = { host: HOST, user: "app", credentials: CREDENTIALS };

/** Every entry point that takes the IAM options flat, as one call each. */
const FLAT_ENTRY_POINTS: Record<string, (options: Record<string, unknown>) => unknown> = {
  createIamAuth: (o) => createIamAuth({ engine: "postgres", ...o } as never).close(),
  pgIamConfig: (o) => pgIamConfig(o as never).auth.close(),
  mysql2IamConfig: (o) => mysql2IamConfig(o as never).auth.close(),
  createMariadbConnectionFactory: (o) =>
    createMariadbConnectionFactory(mariadb, o as never).auth.close(),
  iamDatabaseUrl: (o) => iamDatabaseUrl({ engine: "postgres", ...o } as never),
  "knex iamConnection": (o) => iamConnection(o as never),
  "Prisma createIamAdapter (postgres)": (o) =>
    createIamAdapter({ engine: "postgres", ...o } as never),
  "Prisma createIamAdapter (mysql)": (o) => createIamAdapter({ engine: "mysql", ...o } as never),
  "Prisma iamDatasourceUrl": (o) => iamDatasourceUrl({ engine: "postgres", ...o } as never),
};

/** Runs `call` and returns what it threw or rejected with. */
async function failureOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

const TYPOS: readonly [string, unknown, string][] = [
  ["iamRegoin", "us-east-1", "iamRegion"],
  ["iamDefualtPort", 5432, "iamDefaultPort"],
  ["iamTokenExpiraton", 600, "iamTokenExpiration"],
  ["iamHots", HOST, "iamHost"],
  ["IAMHost", HOST, "iamHost"],
  ["awsProfle", "prod", "awsProfile"],
];

describe("a misspelt IAM option is refused, naming it and the likely one", () => {
  for (const [name, call] of Object.entries(FLAT_ENTRY_POINTS)) {
    it.each(TYPOS)(`${name}: %s`, async (typo, value, meant) => {
      const error = await failureOf(() => call({ ...BASE, [typo]: value }));
      expect(isRdsIamError(error), String(error)).toBe(true);
      expect(error).toMatchObject({ code: "INVALID_OPTION", option: typo });
      expect((error as Error).message).toContain(`did you mean ${meant}`);
    });
  }

  it.each(TYPOS)("TypeORM iam.%s", (typo, value, meant) => {
    expect(() =>
      withIamAuth({
        type: "postgres",
        host: HOST,
        username: "app",
        iam: { [typo]: value },
      } as never),
    ).toThrow(expect.objectContaining({ code: "INVALID_OPTION", option: `iam.${typo}` }));
    try {
      withIamAuth({
        type: "postgres",
        host: HOST,
        username: "app",
        iam: { [typo]: value },
      } as never);
    } catch (error) {
      expect((error as Error).message).toContain(`iam.${meant}`);
    }
  });

  it("TypeORM: an IAM option at the top level points to iam: { ... }", () => {
    for (const key of ["iamAllowPlaintext", "iamRegion", "credentials"]) {
      const error = (() => {
        try {
          withIamAuth({ type: "postgres", host: HOST, username: "app", [key]: true } as never);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toMatchObject({ code: "INVALID_OPTION", option: key });
      expect((error as Error).message).toContain(`iam: { ${key}`);
    }
    expect(() =>
      withIamAuth({ type: "postgres", host: HOST, username: "app", iamRegoin: "x" } as never),
    ).toThrow(expect.objectContaining({ message: expect.stringContaining("iam.iamRegion") }));
  });

  it("driver options that are not ours still pass through", () => {
    const { config, auth } = pgIamConfig({ ...BASE, application_name: "svc", max: 3 });
    expect(config).toMatchObject({ application_name: "svc", max: 3 });
    auth.close();
  });
});

describe("mistakes get the error that names the fix", () => {
  it("a host with a port or a scheme is told to drop it", async () => {
    const cases: [string, string][] = [
      [`${HOST}:5432`, "drop the port"],
      [`postgres://${HOST}`, 'drop the "postgres://" scheme'],
      [`postgresql://app@${HOST}:5432/app`, 'drop the "postgresql://" scheme'],
      [`${HOST}/app`, "drop the path"],
      [`app@${HOST}`, "drop the user part"],
    ];
    for (const [host, fix] of cases) {
      for (const call of Object.values(FLAT_ENTRY_POINTS)) {
        const error = await failureOf(() => call({ ...BASE, host }));
        expect(error, host).toMatchObject({ code: "INVALID_OPTION", option: "host" });
        expect((error as Error).message).toContain(fix);
      }
    }
  });

  it("iamHost with spaces, a path or a port is refused even with iamRegion set", () => {
    for (const iamHost of [
      `${HOST}:5432`,
      "my db.example.com",
      `${HOST}/x`,
      "https://db.example.com",
    ]) {
      expect(() =>
        createIamAuth({
          engine: "postgres",
          ...BASE,
          host: "127.0.0.1",
          iamHost,
          iamRegion: "us-east-1",
        }),
      ).toThrow(expect.objectContaining({ code: "INVALID_OPTION", option: "iamHost" }));
    }
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
    "engine %j is not an engine",
    (engine) => {
      expect(() => createIamAuth({ ...BASE, engine } as never)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION", option: "engine" }),
      );
    },
  );

  it("tokenCache and clock of the wrong type fail now, not at the first token", () => {
    for (const tokenCache of [{}, 42, "cache", new Map()]) {
      expect(() => createIamAuth({ engine: "postgres", ...BASE, tokenCache } as never)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION", option: "tokenCache" }),
      );
    }
    for (const clock of [() => "now", () => Number.NaN, 1234, () => new Date()]) {
      expect(() => createIamAuth({ engine: "postgres", ...BASE, clock } as never)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION", option: "clock" }),
      );
    }
    const throwing = () => {
      throw new Error("clock broke");
    };
    expect(() => createIamAuth({ engine: "postgres", ...BASE, clock: throwing })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "clock" }),
    );
  });

  it("TokenCache's maxEntries is checked with a typed error", () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN, "10", 1e9]) {
      expect(() => new TokenCache({ maxEntries } as never)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION", option: "maxEntries" }),
      );
    }
    expect(new TokenCache({ maxEntries: 1 }).maxEntries).toBe(1);
  });

  it("Prisma's pool timeouts that would overflow setTimeout are refused", () => {
    for (const [key, value] of [
      ["acquireTimeout", 1e12],
      ["idleTimeout", 1e10],
      ["minDelayValidation", 3e9],
      ["acquireTimeout", Number.POSITIVE_INFINITY],
      ["connectionLimit", 1e7],
    ] as const) {
      expect(() => createIamAdapter({ engine: "mysql", ...BASE, [key]: value })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION", option: key }),
      );
    }
  });

  it("TypeORM driver that is not a module", () => {
    for (const driver of [42, "pg", true]) {
      expect(() =>
        withIamAuth({ type: "postgres", host: HOST, username: "app", driver } as never),
      ).toThrow(expect.objectContaining({ code: "INVALID_OPTION", option: "driver" }));
    }
  });

  it("an options object whose getter throws, or a revoked Proxy, is a typed error", async () => {
    // Each entry point is given the object itself (spreading it would throw here).
    const direct: Record<string, (options: object) => unknown> = {
      createIamAuth: (o) => createIamAuth(o as never).close(),
      pgIamConfig: (o) => pgIamConfig(o as never).auth.close(),
      mysql2IamConfig: (o) => mysql2IamConfig(o as never).auth.close(),
      createMariadbConnectionFactory: (o) =>
        createMariadbConnectionFactory(mariadb, o as never).auth.close(),
      iamDatabaseUrl: (o) => iamDatabaseUrl(o as never),
      "knex iamConnection": (o) => iamConnection(o as never),
      "Prisma createIamAdapter": (o) => createIamAdapter(o as never),
      "Prisma iamDatasourceUrl": (o) => iamDatasourceUrl(o as never),
    };
    // The engine each entry point is for (mysql2 and mariadb refuse "postgres").
    let engine = "postgres";
    const plain = () => ({ engine, ...BASE });
    const withThrowingGetter = () => {
      const options: Record<string, unknown> = plain();
      Object.defineProperty(options, "iamRegion", {
        enumerable: true,
        get() {
          throw new Error("getter broke");
        },
      });
      return options;
    };
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable(plain(), {});
      revoke();
      return proxy;
    };
    const sslThrows = () => {
      const ssl = {};
      Object.defineProperty(ssl, "ca", {
        enumerable: true,
        get() {
          throw new Error("ssl getter broke");
        },
      });
      return { ...plain(), ssl };
    };
    for (const [name, call] of Object.entries(direct)) {
      engine = name.startsWith("mysql2") || name.includes("Mariadb") ? "mysql" : "postgres";
      for (const make of [withThrowingGetter, revoked, sslThrows]) {
        if (name === "createIamAuth" && make === sslThrows) continue; // it takes no ssl
        const error = await failureOf(() => call(make()));
        expect(isRdsIamError(error), `${name} ${make.name}: ${String(error)}`).toBe(true);
        expect(error).toMatchObject({ code: "INVALID_OPTION" });
        expect(typeof (error as { option: unknown }).option).toBe("string");
      }
    }
    for (const make of [withThrowingGetter, revoked]) {
      const error = await failureOf(() =>
        withIamAuth({ type: "postgres", host: HOST, username: "app", iam: make() } as never),
      );
      expect(error).toMatchObject({ code: "INVALID_OPTION", option: "iam" });
    }
    expect(() => withIamAuth(revoked() as never)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
  });
});
