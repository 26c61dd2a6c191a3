# Security groups expose only what clients need: 443/80 on the ALB, UDP STUN on the tasks
# (the NLB preserves client addresses for UDP, so the rule names client ranges), 8080 on the
# tasks from the ALB and from the NLB's subnets (health checks), 6379 on Redis from the tasks.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "p2p-comm ALB: HTTPS and redirecting HTTP from clients"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS / WSS from clients"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each          = toset(var.ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To rendezvous tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.http_port
  to_port                      = local.http_port
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "p2p-comm rendezvous tasks"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name}-tasks" })
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "HTTP/WebSocket from the ALB"
  ip_protocol                  = "tcp"
  from_port                    = local.http_port
  to_port                      = local.http_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_nlb_health" {
  for_each          = var.enable_stun ? { for i, s in aws_subnet.public : i => s.cidr_block } : {}
  security_group_id = aws_security_group.tasks.id
  description       = "NLB health checks (/healthz) from the public subnets"
  ip_protocol       = "tcp"
  from_port         = local.http_port
  to_port           = local.http_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "tasks_stun" {
  for_each          = var.enable_stun ? { for pair in setproduct(var.ingress_cidrs, local.stun_ports) : "${pair[0]}-${pair[1]}" => pair } : {}
  security_group_id = aws_security_group.tasks.id
  description       = "STUN from clients via the NLB (client address preserved)"
  ip_protocol       = "udp"
  from_port         = each.value[1]
  to_port           = each.value[1]
  cidr_ipv4         = each.value[0]
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "ECR, CloudWatch Logs, Secrets Manager (via NAT)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "tasks_redis" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Redis"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "p2p-comm ElastiCache Redis"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name}-redis" })
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_tasks" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from rendezvous tasks only"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.tasks.id
}
