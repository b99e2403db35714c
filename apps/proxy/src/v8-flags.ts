/**
 * The sidecar's V8 heap flags (SIDECAR_V8_FLAGS in libs/dataplane: small young generation, old
 * generation sized by live data), applied before the proxy starts: main.ts imports this first.
 * TSMESH_PROXY_V8_FLAGS replaces them ("" keeps V8's defaults). See docs/proxy.md, "Memory".
 */
import { applyV8Flags, SIDECAR_V8_FLAGS } from '@tsmesh/dataplane';

applyV8Flags(process.env['TSMESH_PROXY_V8_FLAGS'] ?? SIDECAR_V8_FLAGS);
