// sequelize-cli's config, from what `rds-iam exec` puts in the environment.
// Sequelize hands a URL's query to the driver as options it does not read for TLS
// (sslmode, a JSON string for ssl), so the TLS settings are spelled out here.
const { readFileSync } = require("node:fs");

const env = process.env;

function postgresConfig() {
  return {
    dialect: "postgres",
    // As libpq reads them: dial PGHOSTADDR when set (a tunnel), and check that the
    // certificate names PGHOST, the endpoint.
    host: env.PGHOSTADDR ?? env.PGHOST,
    port: Number(env.PGPORT),
    username: env.PGUSER,
    password: env.PGPASSWORD,
    database: env.PGDATABASE,
    dialectOptions: {
      ssl: { ca: readFileSync(env.PGSSLROOTCERT, "utf8"), servername: env.PGHOST },
    },
  };
}

function mysqlConfig() {
  // The MySQL variables carry no user name: read the login from DATABASE_URL.
  const url = new URL(env.DATABASE_URL);
  return {
    dialect: "mysql",
    host: url.hostname,
    port: Number(url.port),
    username: decodeURIComponent(url.username),
    password: env.MYSQL_PWD,
    database: decodeURIComponent(url.pathname.slice(1)),
    dialectOptions: {
      ssl: {
        ca: readFileSync(env.RDS_IAM_CA_FILE, "utf8"),
        rejectUnauthorized: true,
        verifyIdentity: true,
      },
      // The token is sent with mysql_clear_password, inside the verified TLS above.
      enableCleartextPlugin: true,
    },
  };
}

// Getters: only the environment asked for (--env) is read, from that engine's variables.
module.exports = {
  get postgres() {
    return postgresConfig();
  },
  get mysql() {
    return mysqlConfig();
  },
};
