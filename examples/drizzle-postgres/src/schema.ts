import { boolean, pgTable, serial, text } from "drizzle-orm/pg-core";

// The table as Drizzle sees it. drizzle/0000_create_todos.sql was generated from this
// file by `drizzle-kit generate`; the app applies it with Drizzle's migrator.
export const todos = pgTable("todos", {
  id: serial("id").primaryKey(),
  title: text("title").notNull(),
  done: boolean("done").notNull().default(false),
});
