/**
 * Prometheus metrics, read from the hot path's plain counters at scrape time (so forwarding a
 * frame costs a property increment, not a labelled-metric lookup).
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Broker } from './broker/broker.js';
import type { RelayHub } from './hub.js';
import { AUTH_FAILURE_REASONS, DROP_REASONS, type Stats } from './stats.js';

export function buildMetrics(
  stats: Stats,
  hub: RelayHub,
  broker: Broker,
  extra: () => { stunRequests: number; mailboxDepth: number | null },
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rdv_process_' });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });

  gauge('rdv_connections', 'authenticated connections on this instance', () => hub.counts().open);
  gauge('rdv_connections_pending_auth', 'connections that have not authenticated yet', () => hub.counts().pendingAuth);
  gauge('rdv_sockets', 'WebSocket connections with a session, any state', () => hub.all.size);
  counter('rdv_connections_accepted_total', 'WebSocket upgrades given a session', () => stats.connectionsAccepted);
  counter(
    'rdv_connections_rejected_total',
    'WebSocket upgrades refused (limits, draining)',
    () => stats.connectionsRejected,
  );
  counter('rdv_auth_ok_total', 'successful authentications', () => stats.authOk);
  counter('rdv_replaced_total', 'connections replaced by a newer one for the same key', () => stats.replaced);
  new Counter({
    name: 'rdv_auth_failures_total',
    help: 'failed authentications by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of AUTH_FAILURE_REASONS) this.labels(r).inc(stats.authFailures[r]);
    },
  });
  new Counter({
    name: 'rdv_drops_total',
    help: 'frames or connections dropped, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of DROP_REASONS) this.labels(r).inc(stats.drops[r]);
    },
  });
  new Counter({
    name: 'rdv_frames_forwarded_total',
    help: 'SIGNAL/RELAY frames forwarded, by path',
    labelNames: ['path'],
    registers: [registry],
    collect() {
      this.reset();
      this.labels('local_signal').inc(stats.forwardedSignalLocal);
      this.labels('local_relay').inc(stats.forwardedRelayLocal);
      this.labels('remote_out').inc(stats.forwardedRemote);
      this.labels('remote_in').inc(stats.remoteDelivered);
    },
  });
  counter('rdv_bytes_forwarded_total', 'envelope bytes delivered to sockets', () => stats.forwardedBytes);
  counter('rdv_frames_in_total', 'frames received from clients', () => stats.framesIn);
  counter('rdv_bytes_in_total', 'bytes received from clients', () => stats.bytesIn);
  counter('rdv_peer_offline_total', 'PEER_OFFLINE answers', () => stats.peerOffline);
  counter('rdv_mailbox_queued_total', 'envelopes stored for offline peers', () => stats.mailboxQueued);
  counter(
    'rdv_mailbox_duplicates_total',
    'resends answered QUEUED without a copy (that sender and message id already held)',
    () => stats.mailboxDuplicates,
  );
  counter('rdv_mailbox_delivered_total', 'mailboxed envelopes delivered on connect', () => stats.mailboxDelivered);
  counter(
    'rdv_prekey_published_total',
    'prekey bundles stored (PREKEY_PUBLISH answered ACK)',
    () => stats.prekeyPublished,
  );
  new Counter({
    name: 'rdv_prekey_fetches_total',
    help: 'PREKEY_FETCH answered, by whether a bundle was held',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.labels('hit').inc(stats.prekeyFetchHits);
      this.labels('miss').inc(stats.prekeyFetchMisses);
    },
  });
  gauge(
    'rdv_mailbox_depth',
    'envelopes held in mailboxes (memory broker; -1 when held in Redis)',
    () => extra().mailboxDepth ?? -1,
  );
  gauge('rdv_pending_routes', 'cross-instance frames awaiting an answer', () => hub.counts().pendingRoutes);
  counter('rdv_route_batches_out_total', 'batches published to other instances', () => stats.batchesOut);
  counter('rdv_route_batches_in_total', 'batches received from other instances', () => stats.batchesIn);
  // Instance links (docs/instance-links.md); all 0 when INSTANCE_LINK_LISTEN is unset.
  gauge('rdv_instance_links_open', 'open links to other instances', () => hub.links?.openCount ?? 0);
  new Counter({
    name: 'rdv_instance_link_batches_total',
    help: 'batches for other instances, by how they left: over a link, through Redis, replayed through Redis after a link died',
    labelNames: ['path'],
    registers: [registry],
    collect() {
      this.reset();
      const c = hub.links?.counters;
      this.labels('link').inc(c?.batchesOverLinks ?? 0);
      this.labels('redis').inc(c?.batchesOverRedis ?? 0);
      this.labels('replayed').inc(c?.batchesReplayed ?? 0);
    },
  });
  counter(
    'rdv_instance_links_closed_total',
    'instance links that ended, any reason',
    () => hub.links?.counters.linksClosed ?? 0,
  );
  counter(
    'rdv_instance_link_handshakes_refused_total',
    'inbound links refused: failed handshakes (secret, version, format), limits, or the losing dial of a pair',
    () => hub.links?.counters.handshakesRefused ?? 0,
  );
  gauge('rdv_broker_ready', '1 when the broker (Redis) is reachable', () => (broker.isReady() ? 1 : 0));
  gauge('rdv_redis_latency_seconds', 'last measured Redis round trip', () => (broker.latencyMs() ?? 0) / 1000);
  counter('rdv_broker_publish_errors_total', 'failed publishes to other instances', () => broker.publishErrors());
  counter('rdv_stun_requests_total', 'STUN binding requests answered', () => extra().stunRequests);
  return registry;
}
