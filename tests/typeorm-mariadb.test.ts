import { typeormSuite } from "./typeorm/suite";

// TypeORM type "mariadb", both supported majors, through the gateway in front of the real database.
typeormSuite({ type: "mariadb", major: "1.x" });
typeormSuite({ type: "mariadb", major: "0.3" });
