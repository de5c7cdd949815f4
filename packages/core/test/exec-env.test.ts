import { describe, expect, it } from "vitest";
import { type ExecLogin, execEnvironment, execVariables } from "../src/cli/exec-env";

const TOKEN = "mydb.abc123.us-east-1.rds.amazonaws.com:5432/?Action=connect&X-Amz-Signature=0";

function login(overrides: Partial<ExecLogin> = {}): ExecLogin {
  return {
    engine: "postgres",
    host: "mydb.abc123.us-east-1.rds.amazonaws.com",
    iamHost: "mydb.abc123.us-east-1.rds.amazonaws.com",
    port: 5432,
    user: "app",
    database: "app",
    token: TOKEN,
    caFile: "/tmp/rds-iam-exec-x/rds-ca-bundle.pem",
    databaseUrl: "postgresql://app:t@mydb/app",
    ...overrides,
  };
}

describe("execVariables", () => {
  it("PostgreSQL at the endpoint: the PG variables, verify-full, no PGHOSTADDR", () => {
    const { set, unset } = execVariables(login());
    expect(set).toEqual({
      PGHOST: "mydb.abc123.us-east-1.rds.amazonaws.com",
      PGPORT: "5432",
      PGUSER: "app",
      PGPASSWORD: TOKEN,
      PGDATABASE: "app",
      PGSSLMODE: "verify-full",
      PGSSLROOTCERT: "/tmp/rds-iam-exec-x/rds-ca-bundle.pem",
      PGGSSENCMODE: "disable",
      DATABASE_URL: "postgresql://app:t@mydb/app",
      RDS_IAM_CA_FILE: "/tmp/rds-iam-exec-x/rds-ca-bundle.pem",
    });
    expect(unset).toEqual(["PGHOSTADDR", "PGSERVICE", "PGDATABASE"]);
  });

  it("PostgreSQL through a tunnel: PGHOST names the endpoint, PGHOSTADDR is dialed", () => {
    const { set } = execVariables(login({ host: "127.0.0.1", hostAddress: "127.0.0.1" }));
    expect(set.PGHOST).toBe("mydb.abc123.us-east-1.rds.amazonaws.com");
    expect(set.PGHOSTADDR).toBe("127.0.0.1");
  });

  it("without --database, no PGDATABASE: an inherited one is removed", () => {
    const variables = execVariables(login({ database: undefined }));
    expect(variables.set).not.toHaveProperty("PGDATABASE");
    const env = execEnvironment({ PGDATABASE: "other", PATH: "/bin" }, variables);
    expect(env).not.toHaveProperty("PGDATABASE");
    expect(env.PATH).toBe("/bin");
  });

  it("MySQL: MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD and MYSQL_HOME, never the cleartext switch", () => {
    const { set, unset } = execVariables(
      login({ engine: "mysql", port: 3306, mysqlHome: "/tmp/rds-iam-exec-y" }),
    );
    expect(set).toEqual({
      MYSQL_HOST: "mydb.abc123.us-east-1.rds.amazonaws.com",
      MYSQL_TCP_PORT: "3306",
      MYSQL_PWD: TOKEN,
      MYSQL_HOME: "/tmp/rds-iam-exec-y",
      DATABASE_URL: "postgresql://app:t@mydb/app",
      RDS_IAM_CA_FILE: "/tmp/rds-iam-exec-x/rds-ca-bundle.pem",
    });
    expect(unset).toEqual([]);
  });
});

describe("execEnvironment", () => {
  it("keeps the rest of the environment and lets ours win over inherited values", () => {
    const env = execEnvironment(
      {
        PATH: "/usr/bin",
        PGSERVICE: "elsewhere",
        PGHOSTADDR: "10.9.9.9",
        PGSSLMODE: "disable",
        DATABASE_URL: "postgresql://old",
        UNSET: undefined,
      },
      execVariables(login()),
    );
    expect(env.PATH).toBe("/usr/bin");
    expect(env.PGSSLMODE).toBe("verify-full");
    expect(env.DATABASE_URL).toBe("postgresql://app:t@mydb/app");
    expect(env).not.toHaveProperty("PGSERVICE");
    expect(env).not.toHaveProperty("PGHOSTADDR");
    expect(env).not.toHaveProperty("UNSET");
  });
});
