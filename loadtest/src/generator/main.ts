/**
 * Entry of a load-generator process. The runner forks it (pinned to its own core where
 * possible) and drives it over IPC with ShardCommand messages; it answers with ShardReply.
 * It exits when told to, when its parent goes away, or on any failure.
 */
import { LoadShard } from './shard.js';
import type { ShardCommand, ShardReply } from './types.js';

let shard: LoadShard | null = null;

function reply(msg: ShardReply): void {
  process.send?.(msg);
}

function need(): LoadShard {
  if (!shard) throw new Error('not initialised');
  return shard;
}

async function handle(msg: ShardCommand): Promise<void> {
  switch (msg.cmd) {
    case 'init':
      shard = new LoadShard(msg.init);
      return reply({ ev: 'inited' });
    case 'connect':
      return reply({ ev: 'connected', stats: await need().connect() });
    case 'run':
      need().run(msg.mode, msg.heartbeatMs);
      return reply({ ev: 'running' });
    case 'mark':
      need().mark();
      return reply({ ev: 'marked' });
    case 'stop':
      return reply({ ev: 'stopped', stats: await need().stop() });
    case 'exit':
      shard?.close();
      setTimeout(() => process.exit(0), 300);
      return;
  }
}

process.on('message', (msg: ShardCommand) => {
  handle(msg).catch((e: unknown) => {
    reply({ ev: 'failed', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  });
});
process.on('disconnect', () => process.exit(0));
