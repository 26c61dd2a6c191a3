/**
 * @p2p-comm/rendezvous — the self-hosted signaling and blind-relay service.
 *
 * @example
 *   import { loadConfig, startServer } from '@p2p-comm/rendezvous';
 *   const srv = await startServer(loadConfig({ PORT: '0', STUN_PORT: '0' }));
 *   console.log(`ws://127.0.0.1:${srv.port}/v1/ws`);
 *   await srv.close();
 */
export { type AppDeps, buildApp, type ListenResult, type RendezvousApp, WS_PATH } from './app.js';
export { type Broker, instanceOf, makeClaim } from './broker/broker.js';
export { MemoryBroker, MemoryBus } from './broker/memory.js';
export { RedisBroker } from './broker/redis.js';
export { type AdmissionMode, CONFIG_SPEC, type Config, type ConfigEntry, loadConfig } from './config.js';
export * from './constants.js';
export { isRendezvousError, RDV_ERRORS, RendezvousError, type RendezvousErrorCode } from './errors.js';
export { type RunningServer, startServer } from './start.js';
