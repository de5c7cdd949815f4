export const placeholder = "gateway";
