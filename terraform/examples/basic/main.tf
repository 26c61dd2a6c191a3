# Minimal deployment of the p2p-comm rendezvous module: two Fargate tasks, allowlist
# admission, STUN on an NLB. Usage:
#
#   cd terraform/examples/basic
#   terraform init
#   terraform apply -var container_image=<ecr image> -var public_hostname=rdv.example.org \
#                   -var certificate_arn=<acm arn>
#
# then point rdv.example.org at the alb_dns_name output.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "container_image" {
  description = "Image built from infra/Dockerfile and pushed to ECR."
  type        = string
}

variable "public_hostname" {
  description = "DNS name clients dial."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for public_hostname."
  type        = string
}

module "rendezvous" {
  source = "../.."

  name            = "p2p-comm"
  container_image = var.container_image
  public_hostname = var.public_hostname
  certificate_arn = var.certificate_arn

  admission = "allowlist"
  min_tasks = 2
  max_tasks = 6

  extra_environment = {
    MAX_CONNECTIONS  = "50000"
    MAX_CONNS_PER_IP = "200"
  }

  tags = {
    owner = "platform-team"
  }
}

output "alb_dns_name" {
  value = module.rendezvous.alb_dns_name
}

output "nlb_dns_name" {
  value = module.rendezvous.nlb_dns_name
}
