import { knexSuite } from "../packages/knex/test/integration/suite";

// knex "pg" (and its aliases) through the gateway in front of the real PostgreSQL.
knexSuite({ engine: "postgres", clients: ["pg", "postgres", "postgresql"] });
