/**
 * V8 heap flags from TSMESH_PROXY_V8_FLAGS, applied before the proxy starts (main.ts imports this
 * first). None by default; the memory profile is SIDECAR_V8_FLAGS in libs/dataplane
 * (docs/proxy.md, "Memory").
 */
import { applyV8Flags } from '@tsmesh/dataplane';

applyV8Flags(process.env['TSMESH_PROXY_V8_FLAGS'] ?? '');
