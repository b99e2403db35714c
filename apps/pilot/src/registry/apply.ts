/**
 * Pilot's side of "validate, then store": the bad-input rules themselves (a file that is not YAML is refused
 * whole, an unknown kind or a bad field refuses that object only, the last good version stays, objects that
 * disappeared from a file are deleted) are `@tsmesh/mesh-config`'s `applyFile` / `applyObject`; Pilot words each
 * refusal with its own error codes, for both registries.
 */
import type { Logger, MeshError } from '@tsmesh/core';
import {
  applyFile as applyConfigFile,
  type ApplyFileResult,
  type ApplyOptions,
  type ConfigStore,
  type RejectedInput,
} from '@tsmesh/mesh-config';
import { pilotErrors } from '../errors';

/** A refusal as one of Pilot's `PILOT_ERR_*` errors. */
export function pilotRejection(r: RejectedInput): MeshError {
  switch (r.reason) {
    case 'invalid-yaml':
      return pilotErrors.error('PILOT_ERR_INVALID_YAML', { file: r.source, detail: r.detail });
    case 'unknown-kind':
      return pilotErrors.error('PILOT_ERR_UNKNOWN_KIND', {
        file: r.source,
        object: r.name || '(unnamed)',
        kind: r.kind || '(none)',
      });
    case 'invalid-config':
      return pilotErrors.error(
        'PILOT_ERR_INVALID_CONFIG',
        { file: r.source, kind: r.kind, object: `${r.namespace}/${r.name}` },
        r.fieldErrors,
      );
  }
}

/** Options for mesh-config's apply step: Pilot's wording, and the log refusals go to. */
export function pilotApplyOptions(log?: Logger): ApplyOptions {
  return { describe: pilotRejection, log };
}

/** Applies one file's content with Pilot's wording; `text === null` means the file was removed. */
export function applyFile(store: ConfigStore, file: string, text: string | null, log?: Logger): ApplyFileResult {
  return applyConfigFile(store, file, text, pilotApplyOptions(log));
}
