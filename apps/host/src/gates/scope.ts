/**
 * Scope gate: is this peer approved for this plugin? A plugin's scope lists peer keys, and may
 * include "trusted", meaning any peer the user has accepted through bilateral consent (asked of
 * the extension at the moment of the check, so a revoked peer drops out at once).
 */
import type { PluginConfig } from '../config.js';
import { HostError } from '../errors.js';

export const SCOPE_TRUSTED = 'trusted';

export type TrustedPeerLookup = (peerKey: string) => Promise<boolean>;

export async function inScope(plugin: PluginConfig, peerKey: string, isTrusted: TrustedPeerLookup): Promise<boolean> {
  if (plugin.peers.includes(peerKey)) return true;
  if (plugin.peers.includes(SCOPE_TRUSTED)) return isTrusted(peerKey);
  return false;
}

export async function checkScope(plugin: PluginConfig, peerKey: string, isTrusted: TrustedPeerLookup): Promise<void> {
  if (!(await inScope(plugin, peerKey, isTrusted))) throw new HostError('HOST_ERR_SCOPE_DENIED');
}
