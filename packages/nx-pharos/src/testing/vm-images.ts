/** A compute node's definition, as packer/hpc-compute/vm-image.yaml writes one. */
export const COMPUTE_NODE = `suite: bookworm
from: cloud-base
template: ../cloud-base/cloud-base.pkr.hcl
packages:
  - { project: slurm, names: [slurm-smd, slurm-smd-slurmd] }
  - { project: beegfs, names: [beegfs-client-dkms] }
files:
  - { template: ../hpc/slurm.conf.hbs, name: slurm.conf }
cluster: { controller: hpc-controller, nodes: [hpc-compute] }
provision:
  - ../hpc/scripts/install-debs.sh
  - { script: ../hpc/scripts/beegfs-client.sh, requires: beegfs }
`;
