import { sequelizeSuite } from "./sequelize/suite";

// Sequelize 6 dialect "mysql" through the gateway in front of the real database.
sequelizeSuite("mysql");
