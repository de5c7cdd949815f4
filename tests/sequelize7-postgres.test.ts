import { sequelize7Suite } from "./sequelize7/suite";

// Sequelize 7 dialect "postgres" through the gateway in front of the real database.
sequelize7Suite("postgres");
