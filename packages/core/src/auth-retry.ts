import { isAuthFailure } from "./auth-failure";
import { isRdsIamError, RdsIamError } from "./errors";
import type { IamAuth } from "./iam-auth";

/**
 * Opens something with a token and, if the database rejects that token, drops it
 * and tries exactly once more with a fresh one. A second rejection is final: an
 * `AUTH_REJECTED` error with the database's error as `cause`, never a loop.
 */
export async function withAuthRetry<T>(
  auth: IamAuth,
  attempt: (token: string) => Promise<T>,
): Promise<T> {
  const first = await auth.getToken();
  try {
    return await attempt(first);
  } catch (error) {
    if (!isFreshRejection(error, auth)) throw error;
    auth.invalidate(first);
  }
  const second = await auth.getToken();
  try {
    return await attempt(second);
  } catch (error) {
    if (!isFreshRejection(error, auth)) throw error;
    auth.invalidate(second);
    throw authRejected(auth, error);
  }
}

/**
 * For pool checkouts (`pg.Pool#connect`, mysql2's `getConnection`): tries the checkout
 * without asking for a token first, because a checkout that reuses an idle connection
 * logs in to nothing. It must not fail when credentials are briefly unavailable, nor
 * count a cache hit. A new connection's login asks the provider itself (pg's
 * `password` function, mysql2's auth plugin).
 *
 * If that login is rejected, the token cached now (the one the login was given, unless
 * a rotation raced it; then a spare mint, never a loop) is dropped and the checkout
 * tried exactly once more. A second rejection is `AUTH_REJECTED`.
 */
export async function withCheckoutAuthRetry<T>(
  auth: IamAuth,
  checkout: () => Promise<T>,
): Promise<T> {
  try {
    return await checkout();
  } catch (error) {
    if (!isFreshRejection(error, auth)) throw error;
    auth.invalidate();
  }
  try {
    return await checkout();
  } catch (error) {
    if (!isFreshRejection(error, auth)) throw error;
    auth.invalidate();
    throw authRejected(auth, error);
  }
}

// A pool may route queued checkouts through the patched method again (mysql2 does),
// so an inner AUTH_REJECTED can reach an outer retry: it is final, not retried anew.
function isFreshRejection(error: unknown, auth: IamAuth): boolean {
  return !isRdsIamError(error) && isAuthFailure(error, auth.target.engine);
}

/** The final error after a retried rejection: says what to check, names no secret. */
export function authRejected(auth: IamAuth, cause: unknown): RdsIamError {
  const { user, iamHost, iamDefaultPort, region } = auth.target;
  return new RdsIamError(
    "AUTH_REJECTED",
    `The database rejected the IAM token for user ${JSON.stringify(user)} twice (signed for ${iamHost}:${iamDefaultPort} in ${region ?? "the global writer's region"}). Check that IAM authentication is enabled on the instance, the user was created for IAM (PostgreSQL: GRANT rds_iam; MySQL: IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'), the IAM policy allows rds-db:connect for this user, and iamHost / iamDefaultPort / iamRegion name the real endpoint.`,
    { cause },
  );
}
