# cloud-base.pkr.hcl - Pharos cloud base image: boots the base disk made by base-disk.sh under QEMU,
# lets cloud-init (NoCloud seed on a "cidata" CD) create the login user, runs the provision scripts
# as root and writes a compressed, trimmed qcow2.
#
# Works with Packer 1.6.6 (qemu builder built in) as it is. There is deliberately no `packer {}` block:
# 1.6.6 rejects `required_plugins`, so the caller adds it in a separate generated file for newer Packer.
# Every setting comes from a variable; nothing here depends on the current directory.

variable "base_image" {
  type        = string
  description = "Path of the base qcow2 made by base-disk.sh (absolute, or relative to the working directory)."
}

variable "base_sha256" {
  type        = string
  description = "SHA-256 (hex) of base_image."
}

variable "output_directory" {
  type        = string
  description = "Directory for the output image and packer-manifest.json (must not exist unless -force)."
}

variable "vm_name" {
  type        = string
  description = "File name of the output image inside output_directory, e.g. cloud-base.qcow2."
}

variable "accelerator" {
  type        = string
  default     = "tcg"
  description = "QEMU accelerator: tcg (works everywhere) or kvm."
}

variable "ssh_private_key_file" {
  type        = string
  description = "Private key whose public half is in the seed's user-data (ssh_authorized_keys)."
}

variable "ssh_username" {
  type        = string
  default     = "admin"
  description = "User created by the cloud-init seed."
}

variable "ssh_timeout" {
  type        = string
  default     = "20m"
  description = "How long to wait for SSH (first boot with cloud-init under TCG takes 1.5-3 minutes)."
}

variable "seed_files" {
  type        = list(string)
  description = "NoCloud seed files (user-data, meta-data); put on a CD labelled cidata."
}

variable "serial_log" {
  type        = string
  description = "File that receives the guest serial console (kernel, systemd and cloud-init output)."
}

variable "provision_scripts" {
  type        = list(string)
  description = "Shell scripts run in order, as root through sudo (scripts/common.sh last, as it does the sysprep)."
}

variable "upload_directory" {
  type        = string
  description = "Local folder, ending in /, whose contents are copied to /tmp/pharos-upload before the scripts run (the .debs and rendered files an image installs; empty for cloud-base)."
}

variable "provision_env" {
  type        = list(string)
  default     = []
  description = "Environment for the provision scripts, as K=V strings."
}

variable "cpus" {
  type    = number
  default = 2
}

variable "memory" {
  type        = number
  default     = 1536
  description = "Guest memory in MiB."
}

variable "provision_timeout" {
  type        = string
  default     = "75m"
  description = "Upper bound for the whole shell provisioner (a hung apt would otherwise hang the build); Pharos sets it (provisionTimeoutMinutes)."
}

source "qemu" "image" {
  # The base disk is used as a disk, not an installer ISO: Packer copies it (no backing file) and boots it.
  iso_url          = "file://${abspath(var.base_image)}"
  iso_checksum     = "sha256:${var.base_sha256}"
  disk_image       = true
  use_backing_file = false
  skip_resize_disk = true # the fs does not grow by itself; keep the base disk's size
  format           = "qcow2"
  disk_compression = true
  disk_discard     = "unmap" # with fstrim in common.sh, deleted blocks leave the output
  disk_interface   = "virtio"
  net_device       = "virtio-net"

  accelerator      = var.accelerator
  cpus             = var.cpus
  memory           = var.memory
  headless         = true
  vnc_bind_address = "127.0.0.1"
  boot_wait        = "1s"

  # Re-declare the user-mode netdev so the SSH forward listens on loopback only (Packer 1.6.6's default
  # is tcp::PORT-:22, all interfaces). id=user.0 is what Packer's own -device line refers to.
  qemuargs = [
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-serial", "file:${var.serial_log}"],
    ["-cpu", "max"],
  ]

  # cloud-init NoCloud seed (Packer builds the ISO with xorriso/mkisofs).
  cd_files = var.seed_files
  cd_label = "cidata"

  communicator         = "ssh"
  ssh_username         = var.ssh_username
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout

  shutdown_command = "sudo -n shutdown -P now"
  shutdown_timeout = "5m"
  output_directory = var.output_directory
  vm_name          = var.vm_name
}

build {
  sources = ["source.qemu.image"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/pharos-upload"]
  }

  provisioner "file" {
    source      = var.upload_directory
    destination = "/tmp/pharos-upload"
  }

  provisioner "shell" {
    timeout          = var.provision_timeout
    scripts          = var.provision_scripts
    environment_vars = var.provision_env
    execute_command  = "chmod +x {{ .Path }}; sudo -n env {{ .Vars }} {{ .Path }}"
  }

  post-processor "manifest" {
    output     = "${var.output_directory}/packer-manifest.json"
    strip_path = false
  }
}
