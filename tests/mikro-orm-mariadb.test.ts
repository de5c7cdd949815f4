import { mikroOrmSuite } from "./mikro-orm/suite";

// MikroORM 6 MariaDbDriver (knex + the mariadb connector) through the gateway in front of the real MariaDB.
mikroOrmSuite("MariaDbDriver");
