export const placeholder = "typeorm";
