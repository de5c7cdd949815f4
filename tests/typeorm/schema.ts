import type * as Typeorm1 from "typeorm";

/**
 * The part of a TypeORM module the suite uses. TypeORM 0.3 and 1.x export it alike;
 * the suite runs once per major with the module it is given.
 */
export interface TypeormModule {
  readonly DataSource: typeof Typeorm1.DataSource;
  readonly EntitySchema: typeof Typeorm1.EntitySchema;
  readonly Table: typeof Typeorm1.Table;
  readonly TableForeignKey: typeof Typeorm1.TableForeignKey;
}

export interface Author {
  id: number;
  name: string;
  posts?: Post[];
}

export interface Post {
  id: number;
  title: string;
  author?: Author;
}

/**
 * Entities as `EntitySchema`s rather than decorated classes: the same definitions work
 * with both TypeORM majors, and no decorator transform is needed.
 */
export function entities(typeorm: TypeormModule) {
  const AuthorSchema = new typeorm.EntitySchema<Author>({
    name: "Author",
    tableName: "authors",
    columns: {
      id: { type: Number, primary: true, generated: "increment" },
      name: { type: String, length: 100 },
    },
    relations: {
      posts: { type: "one-to-many", target: "Post", inverseSide: "author", cascade: true },
    },
  });
  const PostSchema = new typeorm.EntitySchema<Post>({
    name: "Post",
    tableName: "posts",
    columns: {
      id: { type: Number, primary: true, generated: "increment" },
      title: { type: String, length: 200 },
    },
    relations: {
      author: {
        type: "many-to-one",
        target: "Author",
        inverseSide: "posts",
        joinColumn: { name: "author_id" },
        onDelete: "CASCADE",
      },
    },
  });
  return [AuthorSchema, PostSchema] as const;
}

/** A migration class (TypeORM takes classes in `migrations`) that creates both tables. */
export function createTablesMigration(typeorm: TypeormModule) {
  const { Table, TableForeignKey } = typeorm;
  return class CreateTables1767225600000 {
    readonly name = "CreateTables1767225600000";

    async up(queryRunner: Typeorm1.QueryRunner): Promise<void> {
      await queryRunner.createTable(
        new Table({
          name: "authors",
          columns: [
            {
              name: "id",
              type: "int",
              isPrimary: true,
              isGenerated: true,
              generationStrategy: "increment",
            },
            { name: "name", type: "varchar", length: "100" },
          ],
        }),
      );
      await queryRunner.createTable(
        new Table({
          name: "posts",
          columns: [
            {
              name: "id",
              type: "int",
              isPrimary: true,
              isGenerated: true,
              generationStrategy: "increment",
            },
            { name: "title", type: "varchar", length: "200" },
            { name: "author_id", type: "int", isNullable: true },
          ],
        }),
      );
      await queryRunner.createForeignKey(
        "posts",
        new TableForeignKey({
          columnNames: ["author_id"],
          referencedTableName: "authors",
          referencedColumnNames: ["id"],
          onDelete: "CASCADE",
        }),
      );
    }

    async down(queryRunner: Typeorm1.QueryRunner): Promise<void> {
      await queryRunner.dropTable("posts", true, true);
      await queryRunner.dropTable("authors");
    }
  };
}
