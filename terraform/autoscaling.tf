# Scale on whichever is hotter: average CPU, or WebSocket connections per task. The ALB counts
# each proxied WebSocket twice in ActiveConnectionCount (client side and target side), hence
# the division by 2.

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.cpu_target_percent
    # Scale in slowly: every scale-in disconnects that task's clients (they reconnect).
    scale_in_cooldown  = 600
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "connections" {
  name               = "${var.name}-connections"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.connections_target_per_task
    scale_in_cooldown  = 600
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "connections"
        label       = "ALB active connections"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/ApplicationELB"
            metric_name = "ActiveConnectionCount"
            dimensions {
              name  = "LoadBalancer"
              value = aws_lb.web.arn_suffix
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "Running tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.this.name
            }
          }
        }
      }

      metrics {
        id          = "per_task"
        label       = "WebSocket connections per task"
        expression  = "connections / 2 / MAX([tasks, 1])"
        return_data = true
      }
    }
  }
}
