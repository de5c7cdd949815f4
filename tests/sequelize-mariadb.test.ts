import { sequelizeSuite } from "./sequelize/suite";

// Sequelize 6 dialect "mariadb" through the gateway in front of the real database.
sequelizeSuite("mariadb");
