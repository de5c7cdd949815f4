import { mikroOrmSuite } from "./mikro-orm/suite";

// MikroORM 6 PostgreSqlDriver (knex + pg) through the gateway in front of the real PostgreSQL.
mikroOrmSuite("PostgreSqlDriver");
