import { knexSuite } from "./knex/suite";

// knex "pg" (and its aliases) through the gateway in front of the real PostgreSQL.
knexSuite({ engine: "postgres", clients: ["pg", "postgres", "postgresql"] });
