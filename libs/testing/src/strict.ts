/**
 * Whether a missing real peer (Redis, `redis-server`, Prometheus) must fail a suite instead of
 * skipping it: under CI (`CI=true`, as `.ci/run` sets it) or `TSMESH_E2E_STRICT=1`. Locally such
 * suites skip with a warning, so a machine without the peer can still run the rest.
 */
export function requirePeers(): boolean {
  return process.env['CI'] === 'true' || process.env['TSMESH_E2E_STRICT'] === '1';
}
