/** Permission gate: the plugin must hold the named permission (e.g. ext:p2p-comm:send). */
import type { PluginConfig } from '../config.js';
import type { Permission } from '../constants.js';
import { HostError } from '../errors.js';

export function checkPermission(plugin: PluginConfig, permission: Permission): void {
  if (!plugin.permissions.includes(permission)) throw new HostError('HOST_ERR_PERMISSION_DENIED', permission);
}
