/**
 * A short, token-free description of a failure for the results. Driver and wrapper
 * errors should never carry a token, but the report is committed, so anything that
 * looks like a presigned query string or a long secret is cut out regardless.
 */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const scrubbed = message
    .replace(/X-Amz-[A-Za-z-]+=[^&\s"']*/g, "X-Amz-…=[redacted]")
    .replace(/[A-Za-z0-9+/=%]{40,}/g, "[redacted]");
  const text = typeof code === "string" ? `${code}: ${scrubbed}` : scrubbed;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
