/**
 * @p2p-comm/host: reference host gateway for the p2p-comm extension.
 *
 * @example
 * const extension = ExtensionClient.spawn({ command: ['p2p-comm', 'extension'] });
 * const { app } = buildApp(parseConfig(rawJson), { extension });
 * await app.listen({ host: '127.0.0.1', port: 7600 });
 */
export { buildApp, type HostApp, type HostDeps } from './app.js';
export { type Approval, ApprovalQueue, type ApprovalRequest, type ApprovalState } from './approvals/queue.js';
export { type AuditEntry, AuditLog, type Gate } from './audit.js';
export { CONFIG_DEFAULTS, type HostConfig, type PluginConfig, parseConfig } from './config.js';
export * from './constants.js';
export { HOST_ERRORS, HostError, type HostErrorCode } from './errors.js';
export type { ExtensionEvents, HostExtension, PeerInfo } from './extension/api.js';
export { ExtensionClient } from './extension/client.js';
export { createDefaultRiskReviewer, type RiskReviewer, type RiskVerdict } from './gates/risk.js';
export { Gateway } from './gateway.js';
export { API_PREFIX } from './routes/plugin-api.js';
