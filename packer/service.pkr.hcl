# The VideoForge service images, one per run: `-var service=gateway` is Ubuntu 24.04 LTS +
# ansible/gateway.yml (uvicorn behind the load balancer `videoforge provision --with-gateway`
# makes); `-var service=control` is ansible/control.yml (migrations, the autoscaler and the
# notifier, run by `provision --with-control`). Not sources in worker.pkr.hcl: no FFmpeg, a
# smaller disk and build instance, their own validation, and a gateway change does not
# rebuild the worker image. Build with `make ami-gateway` / `make ami-control` (needs AWS
# credentials and network access for `packer init`).

packer {
  required_version = ">= 1.10.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.0"
    }
    ansible = {
      source  = "github.com/hashicorp/ansible"
      version = ">= 1.1.0"
    }
  }
}

variable "service" {
  type        = string
  description = "Which image: gateway or control (the playbook ansible/<service>.yml)."

  validation {
    condition     = contains(["gateway", "control"], var.service)
    error_message = "The service variable must be gateway or control."
  }
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the build instance runs in and the image is registered in."
}

variable "instance_type" {
  type        = string
  default     = "t3.small"
  description = "Build instance type; the image runs on any x86_64 type."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build instance; empty means the default VPC."
}

variable "root_volume_size_gb" {
  type        = number
  default     = 12
  description = "Root volume size: the system, the virtualenv and logs."
}

variable "kms_key_id" {
  type        = string
  default     = ""
  description = "KMS key for the encrypted volumes; empty means the account's EBS default key."
}

variable "git_revision" {
  type        = string
  description = "Commit the image is built from (make ami passes `git rev-parse HEAD`)."

  validation {
    condition     = can(regex("^[0-9a-f]{7,40}$", var.git_revision))
    error_message = "The git_revision variable must be a commit id."
  }
}

variable "wheel_dir" {
  type        = string
  default     = "../dist"
  description = "Directory holding the videoforge wheel (make ami builds it)."
}

locals {
  timestamp = formatdate("YYYYMMDD-hhmmss", timestamp())
  # Canonical's AWS account: the only owner whose Ubuntu images we accept.
  canonical_owner_id = "099720109477"
  # The systemd units each image must have enabled, and what its code must import.
  units = {
    gateway = "videoforge-gateway"
    control = "videoforge-migrate videoforge-autoscaler videoforge-notifier"
  }
  imports = {
    gateway = "gateway.app videoforge.services"
    control = "notifier.service processor.autoscaler.factory videoforge.singleton"
  }
}

source "amazon-ebs" "service" {
  region        = var.region
  instance_type = var.instance_type
  subnet_id     = var.subnet_id
  ami_name      = "videoforge-${var.service}-${local.timestamp}"
  ssh_username  = "ubuntu"

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
      architecture        = "x86_64"
    }
    owners      = [local.canonical_owner_id]
    most_recent = true
  }

  # IMDSv2 only, for the build instance and for every instance launched from the image.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  imds_support = "v2.0"

  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = var.root_volume_size_gb
    volume_type           = "gp3"
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }
  encrypt_boot = true
  kms_key_id   = var.kms_key_id

  tags = {
    Name            = "videoforge-${var.service}"
    Application     = "videoforge"
    git_revision    = var.git_revision
    source_ami      = "{{ .SourceAMI }}"
    source_ami_name = "{{ .SourceAMIName }}"
  }
  run_tags = {
    Name = "videoforge-${var.service}-packer-build"
  }
}

build {
  sources = ["source.amazon-ebs.service"]

  provisioner "shell" {
    script = "${path.root}/scripts/wait-for-cloud-init.sh"
  }

  provisioner "ansible" {
    playbook_file = "${path.root}/../ansible/${var.service}.yml"
    user          = "ubuntu"
    use_proxy     = false
    extra_arguments = [
      "--extra-vars", "app_wheel_dir=${abspath(var.wheel_dir)}",
    ]
    ansible_env_vars = [
      "ANSIBLE_ROLES_PATH=${path.root}/../ansible/roles",
      "ANSIBLE_SSH_ARGS=-o IdentitiesOnly=yes -o ControlMaster=auto -o ControlPersist=60s",
    ]
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/cleanup.sh"
    execute_command = "sudo env {{ .Vars }} bash '{{ .Path }}'"
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/validate-service.sh"
    execute_command = "sudo env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "VENV=/opt/videoforge/venv",
      "SERVICES=${local.units[var.service]}",
      "IMPORTS=${local.imports[var.service]}",
    ]
  }
}
