/**
 * Where `tsmesh proxy-status` / `proxy-config` read from: Pilot's debug HTTP (15014) and a
 * proxy's admin API (15000), found in `.tsmesh/state.json` or given with `--pilot` / `--admin`.
 */
import { cliErrors } from '../errors';
import { readState, type MeshState, type ProcessState } from '../state';

const asUrl = (a: string): string => (/^https?:\/\//.test(a) ? a : `http://${a}`).replace(/\/+$/, '');

function meshState(stateFile: string): MeshState {
  const st = readState(stateFile);
  if (!st) throw cliErrors.error('CLI_ERR_NOT_RUNNING', { state: stateFile });
  return st;
}

/** Pilot's debug URL: `--pilot`, else the `http` listener of the running mesh's Pilot. */
export function pilotUrl(stateFile: string, flag: string | undefined): string {
  if (flag) return asUrl(flag);
  const st = meshState(stateFile);
  const p = st.processes.find((x) => /pilot/.test(x.name) && x.listeners['http']);
  if (!p)
    throw cliErrors.error('CLI_ERR_USAGE', { what: `no Pilot with an http listener in ${stateFile}; pass --pilot` });
  return asUrl(p.listeners['http']);
}

/** True when `proxy` names this process: its name, its pod, or `pod.namespace`. */
function namesProcess(p: ProcessState & { namespace?: string }, proxy: string): boolean {
  const pod = proxy.includes('~') ? (proxy.split('~')[2] ?? proxy) : proxy;
  // state.json may not record the namespace: `pod.ns` then matches on the pod name alone.
  const ns = p.namespace ? `${p.pod}.${p.namespace}` : undefined;
  return p.name === pod || p.pod === pod || ns === pod || (!ns && p.pod === pod.split('.')[0]);
}

/** A proxy's admin URL: `--admin`, else the `admin` listener of its sidecar/gateway in the state file. */
export function adminUrl(stateFile: string, proxy: string, flag: string | undefined): string {
  if (flag) return asUrl(flag);
  const st = meshState(stateFile);
  const p = st.processes.find((x) => x.listeners['admin'] && namesProcess(x, proxy));
  if (!p)
    throw cliErrors.error('CLI_ERR_USAGE', {
      what: `no proxy ${proxy} with an admin listener in ${stateFile}; pass --admin http://host:port`,
    });
  return asUrl(p.listeners['admin']);
}

/** GET a JSON document; a failure names the URL. */
export async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    const cause = (e as Error).cause;
    throw new Error(`cannot reach ${url}: ${cause instanceof Error ? cause.message : (e as Error).message}`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${url} did not answer JSON`);
  }
}

/** Left-aligned columns separated by two spaces (kubectl/istioctl style). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}
