import type { IamAuthStats } from "@rds-iam/core";

const useColor = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: number) => (text: string) =>
  useColor ? `\u001b[${code}m${text}\u001b[0m` : text;
export const bold = paint(1);
export const dim = paint(2);
export const green = paint(32);
export const red = paint(31);
export const cyan = paint(36);

export function heading(text: string): void {
  console.log(`\n${bold(cyan(text))}`);
}

export function say(text: string): void {
  console.log(`  ${text}`);
}

export function ok(who: string, text: string): void {
  console.log(`  ${green("✔")} ${who.padEnd(8)} ${text}`);
}

export function bad(who: string, text: string): void {
  console.log(`  ${red("✘")} ${who.padEnd(8)} ${text}`);
}

/** A plain-text table, columns padded to fit. */
export function table(rows: readonly (readonly (string | number)[])[]): void {
  const cells = rows.map((row) => row.map(String));
  const widths = (cells[0] ?? []).map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  cells.forEach((row, index) => {
    console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ")}`);
    if (index === 0) console.log(`  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
  });
}

export function statsRow(name: string, stats: IamAuthStats): (string | number)[] {
  return [
    name,
    stats.mints,
    stats.cacheHits,
    stats.credentialResolutions,
    stats.refreshesAhead,
    stats.invalidations,
  ];
}
