# ECS Fargate service running infra/Dockerfile's image. The container's CMD is exec-form node,
# so the SIGTERM ECS sends on scale-in or deploy reaches the server, which drains and exits
# within DRAIN_TIMEOUT_MS; stopTimeout gives it that long before SIGKILL.

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled" # RunningTaskCount feeds the connections-per-task scaling metric.
  }

  tags = local.tags
}

data "aws_iam_policy_document" "ecs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Execution role: pull the image, write logs, read exactly this deployment's secrets.
resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [for s in aws_secretsmanager_secret.env : s.arn]
  }
}

resource "aws_iam_role_policy" "read_secrets" {
  name_prefix = "read-secrets-"
  role        = aws_iam_role.execution.id
  policy      = data.aws_iam_policy_document.read_secrets.json
}

# Task role: the server calls no AWS API, so it gets no permissions.
resource "aws_iam_role" "task" {
  name_prefix        = "${var.name}-task-"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
  tags               = local.tags
}

locals {
  environment = merge(
    {
      HOST          = "0.0.0.0"
      PORT          = tostring(local.http_port)
      STUN_PORT     = tostring(local.stun_ports[0])
      STUN_ALT_PORT = tostring(local.stun_ports[1])
      # Clients dial the ALB (TCP only); STUN must be reached through the NLB's name.
      STUN_PUBLIC_HOST    = var.enable_stun ? aws_lb.stun[0].dns_name : ""
      PUBLIC_ORIGINS      = var.public_hostname
      ADMISSION           = var.admission
      ALLOWLIST_REDIS_KEY = var.admission == "allowlist" ? var.allowlist_redis_key : ""
      TURN_URLS           = join(",", var.turn_urls)
      LOG_LEVEL           = var.log_level
      TRUST_PROXY         = "true"
      DRAIN_TIMEOUT_MS    = tostring(var.drain_timeout_ms)
    },
    var.extra_environment,
  )
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "rendezvous"
      image                  = var.container_image
      essential              = true
      readonlyRootFilesystem = true
      stopTimeout            = local.stop_timeout_s
      portMappings = concat(
        [{ containerPort = local.http_port, protocol = "tcp" }],
        [for p in local.stun_ports : { containerPort = p, protocol = "udp" }],
      )
      environment = [for k, v in local.environment : { name = k, value = v } if v != ""]
      secrets     = [for k, s in aws_secretsmanager_secret.env : { name = k, valueFrom = s.arn }]
      ulimits     = [{ name = "nofile", softLimit = 131072, hardLimit = 131072 }]
      healthCheck = {
        command     = ["CMD", "node", "-e", "fetch('http://127.0.0.1:${local.http_port}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 15
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "rendezvous"
        }
      }
    }
  ])

  tags = local.tags
}

resource "aws_ecs_service" "this" {
  name                              = var.name
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this.arn
  launch_type                       = "FARGATE"
  desired_count                     = var.min_tasks
  health_check_grace_period_seconds = 30
  # Start new tasks before stopping old ones, so a deploy never drops below min_tasks.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "rendezvous"
    container_port   = local.http_port
  }

  dynamic "load_balancer" {
    for_each = aws_lb_target_group.stun
    content {
      target_group_arn = load_balancer.value.arn
      container_name   = "rendezvous"
      container_port   = tonumber(load_balancer.key)
    }
  }

  # Autoscaling owns the count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https, aws_lb_listener.stun, aws_iam_role_policy.read_secrets]
  tags       = local.tags
}
