import { mikroOrmSuite } from "./mikro-orm/suite";

// MikroORM 6 MySqlDriver (knex + mysql2) through the gateway in front of the real MariaDB.
mikroOrmSuite("MySqlDriver");
