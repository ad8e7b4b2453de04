# The VideoForge machine images, one per run, all Ubuntu 24.04 LTS + the image's playbook,
# hardened alike (IMDSv2 only, encrypted volumes, no keys left behind):
#   -var image=worker   ansible/worker.yml: FFmpeg + the worker (`make ami`);
#   -var image=gateway  ansible/gateway.yml: uvicorn behind the load balancer
#                       `videoforge provision --with-gateway` makes (`make ami-gateway`);
#   -var image=control  ansible/control.yml: migrations, the autoscaler and the notifier,
#                       run by `provision --with-control` (`make ami-control`).
# What differs between them is `local.images` alone. Images are named
# videoforge-<image>-<timestamp>, what provision looks for. Building needs AWS credentials
# and network access for `packer init`.

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

variable "image" {
  type        = string
  description = "Which image: worker, gateway or control (the playbook ansible/<image>.yml)."

  validation {
    condition     = contains(["worker", "gateway", "control"], var.image)
    error_message = "The image variable must be worker, gateway or control."
  }
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the build instance runs in and the image is registered in."
}

variable "instance_type" {
  type        = string
  default     = ""
  description = "Build instance type; empty means the image's own (local.images). The image runs on any x86_64 type."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build instance; empty means the default VPC."
}

variable "root_volume_size_gb" {
  type        = number
  default     = 0
  description = "Root volume size; 0 means the image's own (local.images)."
}

variable "kms_key_id" {
  type        = string
  default     = ""
  description = "KMS key for the encrypted volumes; empty means the account's EBS default key."
}

variable "git_revision" {
  type        = string
  description = "Commit the image is built from (make passes `git rev-parse HEAD`)."

  validation {
    condition     = can(regex("^[0-9a-f]{7,40}$", var.git_revision))
    error_message = "The git_revision variable must be a commit id."
  }
}

variable "ffmpeg_version" {
  type        = string
  default     = "6.1"
  description = "FFmpeg series Ubuntu 24.04 ships; a worker build fails if the image has another."
}

variable "wheel_dir" {
  type        = string
  default     = "../dist"
  description = "Directory holding the videoforge wheel (make builds it)."
}

locals {
  timestamp = formatdate("YYYYMMDD-hhmmss", timestamp())
  # Canonical's AWS account: the only owner whose Ubuntu images we accept.
  canonical_owner_id = "099720109477"
  # Per image: its build instance and disk, the extra variables of its playbook, the
  # systemd units it must have enabled, the modules its code must import, extra tags.
  images = {
    worker = {
      # Sources and renditions of the job in hand live on the root volume, sized for the
      # longest allowed source (VF_MAX_DURATION_S, 4 h of 4K): a chunked job's stitch peaks
      # near 75 GB (README, "Disk").
      instance_type = "c7i.large"
      volume_gb     = 100
      ansible_vars  = ["--extra-vars", "ffmpeg_expected_version=${var.ffmpeg_version}"]
      units         = "videoforge-worker"
      imports       = "processor.worker"
      ffmpeg        = var.ffmpeg_version
      tags          = { ffmpeg_version = var.ffmpeg_version }
    }
    gateway = {
      instance_type = "t3.small"
      volume_gb     = 12
      ansible_vars  = []
      units         = "videoforge-gateway"
      imports       = "gateway.app videoforge.services"
      ffmpeg        = ""
      tags          = {}
    }
    control = {
      instance_type = "t3.small"
      volume_gb     = 12
      ansible_vars  = []
      units         = "videoforge-migrate videoforge-autoscaler videoforge-notifier"
      imports       = "notifier.service processor.autoscaler.factory videoforge.singleton"
      ffmpeg        = ""
      tags          = {}
    }
  }
  image = local.images[var.image]
}

source "amazon-ebs" "image" {
  region        = var.region
  instance_type = var.instance_type != "" ? var.instance_type : local.image.instance_type
  subnet_id     = var.subnet_id
  ami_name      = "videoforge-${var.image}-${local.timestamp}"
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
    volume_size           = var.root_volume_size_gb > 0 ? var.root_volume_size_gb : local.image.volume_gb
    volume_type           = "gp3"
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }
  encrypt_boot = true
  kms_key_id   = var.kms_key_id

  tags = merge({
    Name            = "videoforge-${var.image}"
    Application     = "videoforge"
    git_revision    = var.git_revision
    source_ami      = "{{ .SourceAMI }}"
    source_ami_name = "{{ .SourceAMIName }}"
  }, local.image.tags)
  run_tags = {
    Name = "videoforge-${var.image}-packer-build"
  }
}

build {
  sources = ["source.amazon-ebs.image"]

  provisioner "shell" {
    script = "${path.root}/scripts/wait-for-cloud-init.sh"
  }

  provisioner "ansible" {
    playbook_file   = "${path.root}/../ansible/${var.image}.yml"
    user            = "ubuntu"
    use_proxy       = false
    extra_arguments = concat(["--extra-vars", "app_wheel_dir=${abspath(var.wheel_dir)}"], local.image.ansible_vars)
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
      "VENV=/opt/videoforge/venv",
      "SERVICES=${local.image.units}",
      "IMPORTS=${local.image.imports}",
      "FFMPEG_VERSION=${local.image.ffmpeg}",
    ]
  }
}
