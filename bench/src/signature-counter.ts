import { Signer } from "@aws-sdk/rds-signer";

let signatures = 0;
let installed = false;

/**
 * Counts IAM tokens signed in this process by `@aws-sdk/rds-signer`, which all three
 * contenders use: the naive recipe directly, the AWS wrapper's IAM plugin inside, and
 * `@rds-iam/core` for real-clock tokens. (They resolve to the same module file, so one
 * prototype patch sees them all; the burst cross-checks ours against core's own count.)
 */
export function countSignatures(): () => number {
  if (!installed) {
    installed = true;
    const original = Signer.prototype.getAuthToken;
    Signer.prototype.getAuthToken = function countedGetAuthToken(this: Signer) {
      signatures++;
      return original.call(this);
    };
  }
  return () => signatures;
}
