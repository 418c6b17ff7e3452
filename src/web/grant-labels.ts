import type { Flow, Grant } from '../storage/storage.js';

/** The version label the reference shows on Connected Apps (§8: "AUTH V1" / "AUTH V2"). */
export function dialectLabel(grant: Grant): string {
  return grant.dialect === 'v1' ? 'AUTH V1' : 'AUTH V2';
}

/**
 * The permission in plain words (§8). Every V1 token is full read/write (§8: "V1 tokens
 * are full read/write"); a V2 grant without a write scope is read only (§11.6).
 */
export function permissionText(grant: Grant): string {
  if (grant.dialect === 'v1') return 'Can read and update your media library';
  return grant.scope.split(/\s+/).some((s) => s === 'write' || s.endsWith(':write')) ? 'Can read and update your media library' : 'Read only';
}

const FLOW_TEXT: Record<Flow, string> = {
  code: 'Sign-in link',
  pkce: 'Sign-in link with PKCE',
  pin: 'Code entered on a device',
  device: 'Code entered on a device',
};

export function flowText(flow: Flow): string {
  return FLOW_TEXT[flow] ?? flow;
}
