/**
 * Prisma 7 on MySQL / MariaDB with RDS IAM authentication, end to end, on this machine.
 *
 * `@rds-iam/gateway` plays the RDS endpoint: it asks for the token with
 * mysql_clear_password over TLS and verifies it exactly as RDS does, then relays to the
 * local MariaDB. The app code is what runs against RDS; only where it dials (the
 * gateway) and which CA it trusts (the gateway's) differ.
 *
 * Migrations: Prisma's engine cannot log in to MySQL with a token (prisma/prisma#10304),
 * so prisma/migrations is applied with deployMysqlMigrations, over the same IAM login.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startGateway } from "@rds-iam/gateway";
import { createIamAdapter } from "@rds-iam/prisma";
import { deployMysqlMigrations } from "@rds-iam/prisma/migrate";
import { PrismaClient } from "./generated/prisma/client.ts";

const ENDPOINT = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
// A scratch database of this run's own, so that runs side by side (a test suite and a
// reader, two CI jobs on one server) never drop each other's tables.
const DATABASE = `rds_iam_example_${randomBytes(3).toString("hex")}`;
const USER = process.env.MYSQL_USER ?? "root";

// Stand-in AWS credentials, accepted by this gateway only. Against RDS, leave
// `credentials` out: the AWS SDK's provider chain finds yours.
const credentials = {
  accessKeyId: `AKIDEXAMPLE${randomBytes(4).toString("hex").toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString("base64"),
};

const gateway = await startGateway({
  engine: "mysql",
  endpoint: { hostname: ENDPOINT },
  credentials: [credentials],
  backend: {
    host: process.env.MYSQL_HOST ?? "127.0.0.1",
    port: Number(process.env.MYSQL_PORT ?? 3306),
    password: process.env.MYSQL_PASSWORD,
  },
});
console.log(`RDS stand-in for ${ENDPOINT} listening on ${gateway.host}:${gateway.port}`);

// Against RDS: host: ENDPOINT, and nothing below but user (and database).
const target = {
  engine: "mysql",
  host: gateway.host,
  port: gateway.port,
  iamHost: ENDPOINT,
  iamDefaultPort: 3306,
  user: USER,
  credentials,
  ssl: { ca: gateway.caCertificate },
} as const;

// Creating and dropping the scratch database is an admin step, over IAM as well.
const admin = new PrismaClient({ adapter: createIamAdapter({ ...target, connectionLimit: 1 }) });
try {
  await admin.$executeRawUnsafe(`CREATE DATABASE ${DATABASE}`);
  await admin.$disconnect();

  const migrated = await deployMysqlMigrations({
    ...target,
    database: DATABASE,
    migrationsDir: fileURLToPath(new URL("../prisma/migrations", import.meta.url)),
  });
  console.log(`Migrations applied: ${migrated.applied.join(", ") || "none"}`);

  const adapter = createIamAdapter({ ...target, database: DATABASE, connectionLimit: 5 });
  const prisma = new PrismaClient({ adapter });
  try {
    const author = await prisma.author.create({
      data: {
        email: "octavia@example.com",
        name: "Octavia E. Butler",
        books: {
          create: [
            { title: "Kindred", year: 1979 },
            { title: "Parable of the Sower", year: 1993 },
          ],
        },
      },
      include: { books: true },
    });
    console.log(`Created ${author.name} with ${author.books.length} books`);

    // An interactive transaction, with parallel queries alongside it: several pooled
    // connections, each opened with the (cached) IAM token.
    const [count] = await Promise.all([
      prisma.$transaction(async (tx) => {
        await tx.book.create({ data: { title: "Dawn", year: 1987, authorId: author.id } });
        return tx.book.count({ where: { authorId: author.id } });
      }),
      prisma.book.findMany({ where: { year: { lt: 1990 } } }),
      prisma.author.count(),
    ]);
    console.log(`Books by ${author.name} after the transaction: ${count}`);

    const books = await prisma.book.findMany({
      orderBy: { year: "asc" },
      include: { author: true },
    });
    for (const book of books) console.log(`  ${book.year}  ${book.title} (${book.author.name})`);

    const stats = gateway.stats();
    console.log(
      `IAM logins accepted: ${stats.accepted}, rejected: ${JSON.stringify(stats.rejected)}; tokens minted by the app's adapter: ${adapter.auth.stats().mints} (the migration run's token, shared in the process, served its logins)`,
    );
  } finally {
    await prisma.$disconnect();
  }
} finally {
  // Also after a failure: no scratch database is left behind.
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => {});
  await admin.$disconnect();
  await gateway.close();
}
