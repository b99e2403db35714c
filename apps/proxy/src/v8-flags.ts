/**
 * The sidecar's memory profile, applied before the proxy starts (main.ts imports this first): its
 * V8 heap flags (SIDECAR_V8_FLAGS in libs/dataplane: small young generation, old generation sized
 * by live data) and a full collection when it goes idle after traffic (startIdleGc).
 * TSMESH_PROXY_V8_FLAGS replaces the profile with the flags it names ("" keeps V8's defaults and
 * no idle collection). See docs/proxy.md, "Memory".
 */
import { applyV8Flags, SIDECAR_V8_FLAGS, startIdleGc } from '@tsmesh/dataplane';

const flags = process.env['TSMESH_PROXY_V8_FLAGS'];
applyV8Flags(flags ?? SIDECAR_V8_FLAGS);
if (flags === undefined) startIdleGc();
