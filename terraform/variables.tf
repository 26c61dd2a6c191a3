# Inputs of the p2p-comm rendezvous module. Only container_image, public_hostname and
# certificate_arn are required; every other default is a production-sensible starting point
# (see docs/operations.md for sizing).

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "p2p-comm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 characters of a-z, 0-9 and '-', starting with a letter (ALB/NLB names are limited to 32)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# --- Image and public address ---------------------------------------------------------------

variable "container_image" {
  description = "Rendezvous image built from infra/Dockerfile, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/p2p-comm:1.0.0."
  type        = string
}

variable "public_hostname" {
  description = "DNS name clients dial (wss://<public_hostname>/v1/ws). Becomes PUBLIC_ORIGINS; point it at the ALB (output alb_dns_name)."
  type        = string
}

variable "stun_hostname" {
  description = "DNS name for STUN, pointed at the NLB (output nlb_dns_name). Informational: clients learn STUN from the server."
  type        = string
  default     = ""
}

variable "certificate_arn" {
  description = "ACM certificate for public_hostname, used by the ALB HTTPS listener."
  type        = string
}

variable "ssl_policy" {
  description = "ALB TLS policy."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

# --- Network --------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR of the VPC the module creates."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones used (public + private subnet in each)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be 2-4 (the ALB needs two zones)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (survives a zone loss)."
  type        = bool
  default     = true
}

variable "ingress_cidrs" {
  description = "Client address ranges allowed to reach the ALB (443/80) and STUN (UDP). Narrow it for an internal-only deployment."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "alb_idle_timeout_s" {
  description = "ALB idle timeout, s. Must exceed the server heartbeat (HEARTBEAT_INTERVAL_MS, default 30 s) so live WebSockets are never cut; max 4000."
  type        = number
  default     = 3600

  validation {
    condition     = var.alb_idle_timeout_s >= 60 && var.alb_idle_timeout_s <= 4000
    error_message = "alb_idle_timeout_s must be 60-4000."
  }
}

# --- Service size and scaling ---------------------------------------------------------------

variable "task_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU). Node uses one core for the event loop."
  type        = number
  default     = 1024
}

variable "task_memory" {
  description = "Fargate task memory, MiB."
  type        = number
  default     = 2048
}

variable "min_tasks" {
  description = "Fewest running tasks (keep >= 2 for zero-downtime deploys)."
  type        = number
  default     = 2
}

variable "max_tasks" {
  description = "Most running tasks autoscaling may start."
  type        = number
  default     = 10
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation for autoscaling, percent."
  type        = number
  default     = 60
}

variable "connections_target_per_task" {
  description = "Target WebSocket connections per task for autoscaling (see docs/performance.md for the measured capacity)."
  type        = number
  default     = 10000
}

# --- Application settings -------------------------------------------------------------------

variable "admission" {
  description = "ADMISSION: open, allowlist or token."
  type        = string
  default     = "allowlist"

  validation {
    condition     = contains(["open", "allowlist", "token"], var.admission)
    error_message = "admission must be open, allowlist or token."
  }
}

variable "allowlist_redis_key" {
  description = "ALLOWLIST_REDIS_KEY: Redis set of base64url keys (ADMISSION=allowlist)."
  type        = string
  default     = "p2pc:allowlist"
}

variable "turn_urls" {
  description = "TURN_URLS handed to peers (empty = no TURN). A TURN_SECRET is generated and stored in Secrets Manager for your coturn."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "LOG_LEVEL."
  type        = string
  default     = "info"
}

variable "drain_timeout_ms" {
  description = "DRAIN_TIMEOUT_MS: SIGTERM to exit. ECS stopTimeout and the target groups' deregistration delay follow it (Fargate caps stopTimeout at 120 s)."
  type        = number
  default     = 10000

  validation {
    condition     = var.drain_timeout_ms >= 1000 && var.drain_timeout_ms <= 110000
    error_message = "drain_timeout_ms must be 1000-110000 (Fargate stops a task at most 120 s after SIGTERM)."
  }
}

variable "extra_environment" {
  description = "More rendezvous env variables (limits such as MAX_CONNECTIONS, RATE_*, MAILBOX_*). Secrets do not belong here."
  type        = map(string)
  default     = {}
}

variable "enable_stun" {
  description = "Create the NLB that forwards STUN (UDP 3478 and 3479) to the tasks."
  type        = bool
  default     = true
}

# --- Redis ----------------------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.medium"
}

variable "redis_replicas" {
  description = "Read replicas per shard; >= 1 enables automatic failover and Multi-AZ."
  type        = number
  default     = 1
}

variable "redis_engine_version" {
  description = "ElastiCache Redis OSS engine version."
  type        = string
  default     = "7.1"
}

variable "redis_snapshot_retention_days" {
  description = "Daily snapshots kept (mailbox and allowlist backups), days."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "CloudWatch log retention, days."
  type        = number
  default     = 30
}
