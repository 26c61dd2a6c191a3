output "alb_dns_name" {
  description = "Point public_hostname (CNAME or alias) here; clients dial wss://<public_hostname>/v1/ws."
  value       = aws_lb.web.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the ALB, for a Route 53 alias record."
  value       = aws_lb.web.zone_id
}

output "nlb_dns_name" {
  description = "STUN endpoint (UDP 3478/3479); null when enable_stun is false."
  value       = var.enable_stun ? aws_lb.stun[0].dns_name : null
}

output "ecs_cluster_name" {
  description = "ECS cluster running the service."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_name" {
  description = "ECS service (aws ecs update-service --force-new-deployment to roll tasks)."
  value       = aws_ecs_service.this.name
}

output "log_group_name" {
  description = "CloudWatch log group of the tasks (pino JSON lines)."
  value       = aws_cloudwatch_log_group.this.name
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint (TLS, AUTH; the token is in the REDIS_URL secret)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "secret_arns" {
  description = "Secrets Manager ARNs by env variable name (REDIS_URL, INVITE_SECRET, TURN_SECRET as configured)."
  value       = { for k, s in aws_secretsmanager_secret.env : k => s.arn }
}

output "vpc_id" {
  description = "VPC created for the deployment."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Private subnets (tasks, Redis): run admin tasks here, e.g. allowlist edits with redis-cli --tls."
  value       = aws_subnet.private[*].id
}

output "task_security_group_id" {
  description = "Security group of the tasks; an admin task in it can reach Redis."
  value       = aws_security_group.tasks.id
}
