# Secrets live in Secrets Manager and reach the container as env variables through the task
# definition's `secrets`, never as plain environment in the task definition or in state
# outputs. REDIS_URL is stored whole because it embeds the AUTH token.

resource "random_password" "invite_secret" {
  length  = 48
  special = false
}

resource "random_password" "turn_secret" {
  length  = 48
  special = false
}

locals {
  secret_values = merge(
    {
      REDIS_URL = "rediss://:${random_password.redis_auth.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379"
    },
    var.admission == "token" ? { INVITE_SECRET = random_password.invite_secret.result } : {},
    length(var.turn_urls) > 0 ? { TURN_SECRET = random_password.turn_secret.result } : {},
  )
}

resource "aws_secretsmanager_secret" "env" {
  for_each                = toset(keys(local.secret_values))
  name_prefix             = "${var.name}/${lower(replace(each.key, "_", "-"))}-"
  description             = "p2p-comm rendezvous ${each.key}"
  recovery_window_in_days = 7
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "env" {
  for_each      = aws_secretsmanager_secret.env
  secret_id     = each.value.id
  secret_string = local.secret_values[each.key]
}
