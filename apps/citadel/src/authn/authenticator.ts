/**
 * Who is calling? An authenticator turns the caller's bearer token into the
 * identity it proves (namespace + service account), or null. Citadel tries each
 * configured authenticator in order (bootstrap tokens, Kubernetes TokenReview).
 */
export interface ProvedIdentity {
  namespace: string;
  serviceAccount: string;
  /** Which authenticator vouched for it (for logs and metrics). */
  via: string;
}

export interface Authenticator {
  readonly name: string;
  authenticate(token: string): Promise<ProvedIdentity | null>;
}

/** `authorization: Bearer <token>` → token, else null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

export async function authenticateAny(
  authenticators: readonly Authenticator[],
  token: string,
): Promise<ProvedIdentity | null> {
  for (const a of authenticators) {
    const id = await a.authenticate(token);
    if (id) return id;
  }
  return null;
}
