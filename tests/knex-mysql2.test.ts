import { knexSuite } from "./knex/suite";

// knex "mysql2" through the gateway in front of the real MariaDB.
knexSuite({ engine: "mysql", clients: ["mysql2"] });
