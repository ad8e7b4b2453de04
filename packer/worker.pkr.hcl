# The VideoForge worker image: Ubuntu 24.04 LTS + ansible/worker.yml.
# Build with `make ami` (needs AWS credentials and network access for `packer init`).

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

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the build instance runs in and the image is registered in."
}

variable "instance_type" {
  type        = string
  default     = "c7i.large"
  description = "Build instance type; the image runs on any x86_64 type."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build instance; empty means the default VPC."
}

variable "root_volume_size_gb" {
  type        = number
  default     = 30
  description = "Root volume size: sources and renditions of the job in hand live there."
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

variable "ffmpeg_version" {
  type        = string
  default     = "6.1"
  description = "FFmpeg series Ubuntu 24.04 ships; the build fails if the image has another."
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
}

source "amazon-ebs" "worker" {
  region        = var.region
  instance_type = var.instance_type
  subnet_id     = var.subnet_id
  ami_name      = "videoforge-worker-${local.timestamp}"
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
    Name            = "videoforge-worker"
    Application     = "videoforge"
    git_revision    = var.git_revision
    ffmpeg_version  = var.ffmpeg_version
    source_ami      = "{{ .SourceAMI }}"
    source_ami_name = "{{ .SourceAMIName }}"
  }
  run_tags = {
    Name = "videoforge-worker-packer-build"
  }
}

build {
  sources = ["source.amazon-ebs.worker"]

  provisioner "shell" {
    script = "${path.root}/scripts/wait-for-cloud-init.sh"
  }

  provisioner "ansible" {
    playbook_file = "${path.root}/../ansible/worker.yml"
    user          = "ubuntu"
    use_proxy     = false
    extra_arguments = [
      "--extra-vars", "app_wheel_dir=${abspath(var.wheel_dir)}",
      "--extra-vars", "ffmpeg_expected_version=${var.ffmpeg_version}",
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
    script          = "${path.root}/scripts/validate.sh"
    execute_command = "sudo env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "FFMPEG_VERSION=${var.ffmpeg_version}",
      "VENV=/opt/videoforge/venv",
      "WORKER_SERVICE=videoforge-worker",
    ]
  }
}
