# Application Load Balancer: TLS termination, WebSocket upgrade to /v1/ws, health endpoints.
# /metrics and every other path answer 404 here; scrape tasks inside the VPC instead.

resource "aws_lb" "web" {
  name                       = "${var.name}-web"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.alb.id]
  idle_timeout               = var.alb_idle_timeout_s
  drop_invalid_header_fields = true
  enable_http2               = true
  tags                       = local.tags
}

resource "aws_lb_target_group" "web" {
  name        = "${var.name}-web"
  port        = local.http_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.this.id
  # A stopping task tells its clients RESTARTING and drains for DRAIN_TIMEOUT_MS; keep routing
  # existing connections to it that long, then a little more.
  deregistration_delay = local.drain_s + 5
  # WebSockets are long-lived: new ones go to the target with the fewest outstanding requests.
  load_balancing_algorithm_type = "least_outstanding_requests"

  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.web.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "not found"
      status_code  = "404"
    }
  }

  tags = local.tags
}

resource "aws_lb_listener_rule" "rendezvous" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  condition {
    path_pattern {
      values = ["/v1/ws", "/healthz", "/readyz"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }

  tags = local.tags
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  tags = local.tags
}
