// drizzle-kit wants a string password and loads this file synchronously: the URL
// comes from `rds-iam exec`, which minted the token before drizzle-kit started.
import { defineConfig } from "drizzle-kit";

const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is not set: run drizzle-kit through rds-iam exec");
const dialect = url.startsWith("mysql:") ? "mysql" : "postgresql";

export default defineConfig({
  dialect,
  out: `./drizzle/${dialect === "mysql" ? "mysql" : "postgres"}`,
  dbCredentials: { url },
});
