import { typeormSuite } from "./typeorm/suite";

// TypeORM type "mysql", both supported majors, through the gateway in front of the real database.
typeormSuite({ type: "mysql", major: "1.x" });
typeormSuite({ type: "mysql", major: "0.3" });
