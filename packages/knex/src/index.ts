export const placeholder = "knex";
