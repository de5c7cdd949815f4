export const placeholder = "prisma";
