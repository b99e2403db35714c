/**
 * Kubernetes authentication: the caller's service-account token is checked with
 * a TokenReview; an authenticated user `system:serviceaccount:<ns>:<sa>` proves
 * that namespace and service account. The API is behind a small interface so it
 * can be faked in tests; `kubeTokenReviewer()` builds the real one.
 */
import type { Authenticator, ProvedIdentity } from './authenticator';

export interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string };
  error?: string;
}

export type TokenReviewFn = (token: string, audiences: string[]) => Promise<TokenReviewStatus>;

const SA_USER = /^system:serviceaccount:([a-z0-9]([a-z0-9.-]*[a-z0-9])?):([a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/;

export class KubeTokenReview implements Authenticator {
  readonly name = 'kubernetes-token-review';

  constructor(
    private readonly review: TokenReviewFn,
    private readonly audiences: string[] = [],
  ) {}

  async authenticate(token: string): Promise<ProvedIdentity | null> {
    let status: TokenReviewStatus;
    try {
      status = await this.review(token, this.audiences);
    } catch {
      return null;
    }
    if (!status.authenticated || !status.user?.username) return null;
    const m = SA_USER.exec(status.user.username);
    return m ? { namespace: m[1], serviceAccount: m[3], via: this.name } : null;
  }
}

/** The real TokenReview call through @kubernetes/client-node (in-cluster config or KUBECONFIG). */
export async function kubeTokenReviewer(): Promise<TokenReviewFn> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const api = kc.makeApiClient(k8s.AuthenticationV1Api);
  return async (token, audiences) => {
    const res = await api.createTokenReview({
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences.length ? { audiences } : {}) },
      },
    });
    return res.status ?? {};
  };
}
