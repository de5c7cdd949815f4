/**
 * Prisma 7 on PostgreSQL with RDS IAM authentication, end to end, on this machine.
 *
 * `@rds-iam/gateway` plays the RDS endpoint: it verifies IAM tokens exactly as RDS
 * does (signature, clock, endpoint, region, user, credentials) and relays to the local
 * PostgreSQL. The app code is what runs against RDS; only where it dials (the gateway)
 * and which CA it trusts (the gateway's) differ.
 */
import { randomBytes } from "node:crypto";
import { startGateway } from "@rds-iam/gateway";
import { createIamAdapter } from "@rds-iam/prisma";
import { PrismaClient } from "./generated/prisma/client.ts";

const ENDPOINT = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
// A scratch schema of this run's own, so that runs side by side (a test suite and a
// reader, two CI jobs on one database) never drop each other's tables.
const SCHEMA = `rds_iam_example_${randomBytes(3).toString("hex")}`;

// Stand-in AWS credentials, accepted by this gateway only. Against RDS, leave
// `credentials` out: the AWS SDK's provider chain finds yours.
const credentials = {
  accessKeyId: `AKIDEXAMPLE${randomBytes(4).toString("hex").toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString("base64"),
};

const gateway = await startGateway({
  engine: "postgres",
  endpoint: { hostname: ENDPOINT },
  credentials: [credentials],
  backend: {
    host: process.env.PGHOST ?? "127.0.0.1",
    port: Number(process.env.PGPORT ?? 5432),
  },
});
console.log(`RDS stand-in for ${ENDPOINT} listening on ${gateway.host}:${gateway.port}`);

const adapter = createIamAdapter(
  {
    engine: "postgres",
    // Against RDS: host: ENDPOINT, and nothing below but user and database.
    host: gateway.host,
    port: gateway.port,
    iamHost: ENDPOINT,
    iamDefaultPort: 5432,
    user: process.env.PGUSER ?? "postgres",
    database: process.env.PGDATABASE ?? "postgres",
    credentials,
    ssl: { ca: gateway.caCertificate },
    max: 5,
  },
  { schema: SCHEMA },
);
const prisma = new PrismaClient({ adapter });

try {
  // Against RDS the tables come from `prisma migrate deploy` (see README); here the
  // schema engine is not needed: create them directly.
  await prisma.$executeRawUnsafe(`CREATE SCHEMA ${SCHEMA}`);
  await prisma.$executeRawUnsafe(
    `CREATE TABLE ${SCHEMA}."Author" ("id" SERIAL PRIMARY KEY, "email" TEXT NOT NULL UNIQUE, "name" TEXT NOT NULL)`,
  );
  await prisma.$executeRawUnsafe(
    `CREATE TABLE ${SCHEMA}."Book" ("id" SERIAL PRIMARY KEY, "title" TEXT NOT NULL, "year" INTEGER NOT NULL, "authorId" INTEGER NOT NULL REFERENCES ${SCHEMA}."Author"("id") ON DELETE CASCADE)`,
  );

  const author = await prisma.author.create({
    data: {
      email: "ursula@example.com",
      name: "Ursula K. Le Guin",
      books: {
        create: [
          { title: "A Wizard of Earthsea", year: 1968 },
          { title: "The Dispossessed", year: 1974 },
        ],
      },
    },
    include: { books: true },
  });
  console.log(`Created ${author.name} with ${author.books.length} books`);

  // An interactive transaction, with parallel queries alongside it: several pooled
  // connections, each logged in with the (cached) IAM token.
  const [moved] = await Promise.all([
    prisma.$transaction(async (tx) => {
      const book = await tx.book.create({
        data: { title: "The Left Hand of Darkness", year: 1969, authorId: author.id },
      });
      return tx.book.count({ where: { authorId: book.authorId } });
    }),
    prisma.book.findMany({ where: { year: { lt: 1970 } } }),
    prisma.author.count(),
  ]);
  console.log(`Books by ${author.name} after the transaction: ${moved}`);

  const books = await prisma.book.findMany({ orderBy: { year: "asc" }, include: { author: true } });
  for (const book of books) console.log(`  ${book.year}  ${book.title} (${book.author.name})`);

  const stats = gateway.stats();
  console.log(
    `IAM logins accepted: ${stats.accepted}, rejected: ${JSON.stringify(stats.rejected)}; tokens minted: ${adapter.auth.stats().mints}`,
  );
} finally {
  // Also after a failure: no scratch schema is left behind.
  await prisma.$executeRawUnsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
  await prisma.$disconnect();
  await gateway.close();
}
