import { sequelizeSuite } from "./sequelize/suite";

// Sequelize 6 dialect "postgres" through the gateway in front of the real database.
sequelizeSuite("postgres");
