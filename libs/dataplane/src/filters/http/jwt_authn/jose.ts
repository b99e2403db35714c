import type * as Jose from 'jose';

let joseModule: typeof Jose | undefined;

/**
 * The jose package, loaded the first time a token or a key is looked at: most sidecars have
 * no jwt_authn filter, and loading jose costs about 0.85 MB of heap (sidecar RSS, issue #4).
 */
export function jose(): typeof Jose {
  joseModule ??= require('jose') as typeof Jose;
  return joseModule;
}
