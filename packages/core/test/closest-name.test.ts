import { describe, expect, it } from "vitest";
import { closestName } from "../src/closest-name";

const KNOWN = [
  "iamHost",
  "iamDefaultPort",
  "iamRegion",
  "iamTokenExpiration",
  "iamTimeout",
  "awsProfile",
] as const;

describe("closestName", () => {
  it.each([
    ["iamRegoin", "iamRegion"], // two neighbours swapped
    ["iamDefualtPort", "iamDefaultPort"],
    ["iamHots", "iamHost"],
    ["awsProfle", "awsProfile"], // one deletion
    ["iamTokenExpirations", "iamTokenExpiration"], // one insertion
    ["iamTmeot", "iamTimeout"], // two deletions
    ["iamRegiom", "iamRegion"], // one replacement
  ])("%s -> %s", (typo, meant) => {
    expect(closestName(typo, KNOWN)).toBe(meant);
  });

  it("matches the same letters in another case, whatever the case of the list", () => {
    expect(closestName("IAMHOST", KNOWN)).toBe("iamHost");
    expect(closestName("iamhost", ["IAMHOST"])).toBe("IAMHOST");
  });

  it("counts a swap of neighbours as one edit, so two swaps are still close", () => {
    // Plain Levenshtein makes each swap two edits (four in all): too far.
    expect(closestName("aimRegoin", ["iamRegion"])).toBe("iamRegion");
  });

  it("prefers the closer of two candidates, wherever it is listed", () => {
    expect(closestName("IAMHOST", ["iamHosts", "iamHost"])).toBe("iamHost");
    expect(closestName("iamRegio", ["iamRegionX", "iamRegion"])).toBe("iamRegion");
  });

  it("answers undefined for names three or more edits away", () => {
    expect(closestName("iamRegXYZ", KNOWN)).toBeUndefined(); // three replacements
    expect(closestName("iamReg", ["iamRegion"])).toBeUndefined(); // three deletions
    expect(closestName("database", KNOWN)).toBeUndefined();
    expect(closestName("iamHost", [])).toBeUndefined();
  });
});
