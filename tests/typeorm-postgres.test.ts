import { typeormSuite } from "./typeorm/suite";

// TypeORM type "postgres", both supported majors, through the gateway in front of the real database.
typeormSuite({ type: "postgres", major: "1.x" });
typeormSuite({ type: "postgres", major: "0.3" });
