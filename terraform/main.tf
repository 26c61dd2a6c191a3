# p2p-comm rendezvous on AWS: VPC, ECS Fargate behind an ALB (WebSocket + TLS), an NLB for
# STUN over UDP, ElastiCache Redis with TLS and AUTH, autoscaling, logs. See docs/operations.md.

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_region" "current" {}

locals {
  azs  = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  tags = merge({ "app" = "p2p-comm", "component" = "rendezvous" }, var.tags)

  http_port      = 8080
  stun_ports     = [3478, 3479]
  drain_s        = ceil(var.drain_timeout_ms / 1000)
  stop_timeout_s = min(local.drain_s + 10, 120)
}
