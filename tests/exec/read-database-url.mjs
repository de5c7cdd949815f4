// A Node program configured the twelve-factor way: everything from DATABASE_URL.
// Run by tests/cli-exec.test.ts through `rds-iam exec`; prints who it logged in as.
import mysql from "mysql2/promise";
import pg from "pg";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is not set: run this through rds-iam exec");

if (url.startsWith("postgresql:")) {
  // node-postgres reads sslmode=verify-full and the sslrootcert file from the URL.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query("SELECT current_user AS who, current_database() AS db");
  await client.end();
  console.log(JSON.stringify(rows[0]));
} else {
  // mysql2 reads the ssl JSON (inline CA, verifyIdentity) and enableCleartextPlugin.
  const connection = await mysql.createConnection(url);
  const [rows] = await connection.query(
    "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS who, DATABASE() AS db",
  );
  await connection.end();
  console.log(JSON.stringify(rows[0]));
}
