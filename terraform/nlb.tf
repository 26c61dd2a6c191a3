# Network Load Balancer for STUN over UDP. UDP target groups of type ip preserve the client's
# address, which STUN must see to answer with it (the reason STUN never goes through the ALB).
# UDP cannot be health-checked, so the targets are checked over HTTP on /healthz.

resource "aws_lb" "stun" {
  count                            = var.enable_stun ? 1 : 0
  name                             = "${var.name}-stun"
  load_balancer_type               = "network"
  internal                         = false
  subnets                          = aws_subnet.public[*].id
  enable_cross_zone_load_balancing = true
  tags                             = local.tags
}

resource "aws_lb_target_group" "stun" {
  for_each             = var.enable_stun ? toset([for p in local.stun_ports : tostring(p)]) : toset([])
  name                 = "${var.name}-stun-${each.key}"
  port                 = tonumber(each.key)
  protocol             = "UDP"
  target_type          = "ip"
  vpc_id               = aws_vpc.this.id
  deregistration_delay = 5

  health_check {
    protocol            = "HTTP"
    port                = tostring(local.http_port)
    path                = "/healthz"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

resource "aws_lb_listener" "stun" {
  for_each          = aws_lb_target_group.stun
  load_balancer_arn = aws_lb.stun[0].arn
  port              = tonumber(each.key)
  protocol          = "UDP"

  default_action {
    type             = "forward"
    target_group_arn = each.value.arn
  }

  tags = local.tags
}
