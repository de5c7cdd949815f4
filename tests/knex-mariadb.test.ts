import { knexSuite } from "./knex/suite";

// knex "mariadb" (knex 3.3+, the mariadb connector) through the gateway in front of the real MariaDB.
knexSuite({ engine: "mysql", clients: ["mariadb"] });
