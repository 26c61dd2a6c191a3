import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Broker } from './broker.js';
import { MemoryBroker } from './memory.js';
import { RedisBroker } from './redis.js';

/** The broker the config asks for: Redis Cluster, single Redis, or in-process memory. */
export function createBroker(config: Config, log: Logger): Broker {
  if (config.redisClusterNodes.length > 0 || config.redisUrl !== null)
    return new RedisBroker({
      url: config.redisUrl,
      clusterNodes: config.redisClusterNodes,
      prefix: config.redisKeyPrefix,
      log,
      mailboxTtlMs: config.mailboxTtlS * 1000,
    });
  return new MemoryBroker({ maxMailboxKeys: config.mailboxMaxKeys });
}
