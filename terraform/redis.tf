# ElastiCache Redis: TLS in transit, AUTH token, encryption at rest, Multi-AZ failover with a
# replica, daily snapshots. maxmemory-policy noeviction: evicting a mailbox entry or the
# allowlist would silently lose data or change admission (same as infra/redis/redis.conf).

resource "random_password" "redis_auth" {
  length  = 48
  special = false # AUTH tokens allow only some symbols; alphanumerics also keep REDIS_URL valid.
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = aws_subnet.private[*].id
  tags       = local.tags
}

resource "aws_elasticache_parameter_group" "this" {
  name   = "${var.name}-redis7"
  family = "redis7"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }

  tags = local.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = "${var.name}-redis"
  description          = "p2p-comm rendezvous presence, routing, mailbox, allowlist"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  port                 = 6379
  num_cache_clusters   = 1 + var.redis_replicas
  parameter_group_name = aws_elasticache_parameter_group.this.name
  subnet_group_name    = aws_elasticache_subnet_group.this.name
  security_group_ids   = [aws_security_group.redis.id]

  automatic_failover_enabled = var.redis_replicas > 0
  multi_az_enabled           = var.redis_replicas > 0

  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  auth_token                 = random_password.redis_auth.result

  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "03:00-04:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = local.tags
}
