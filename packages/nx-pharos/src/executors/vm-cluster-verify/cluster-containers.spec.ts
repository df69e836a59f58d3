import { describe, expect, it } from 'vitest';
import { containerRuns } from './cluster-containers';

describe('containers on the cluster', () => {
  it('runs each container.yaml check as a job on the compute node, from the SIF in BeeGFS', () => {
    const runs = containerRuns('hpc-compute', 'openmpi', 'openmpi.sif', [
      { name: 'mpirun -n 2 runs both ranks', command: 'mpirun --oversubscribe -n 2 /usr/local/bin/mpi-hello', expectOutputContains: ['rank 0', 'rank 1'] },
      { command: 'ompi_info' },
    ]);
    expect(runs.map((r) => [r.what, r.args])).toEqual([
      [
        'openmpi: mpirun -n 2 runs both ranks (srun on hpc-compute, apptainer exec /mnt/beegfs/containers/openmpi.sif)',
        ['srun-sif', 'hpc-compute', '/mnt/beegfs/containers/openmpi.sif', 'mpirun --oversubscribe -n 2 /usr/local/bin/mpi-hello'],
      ],
      [
        'openmpi: ompi_info (srun on hpc-compute, apptainer exec /mnt/beegfs/containers/openmpi.sif)',
        ['srun-sif', 'hpc-compute', '/mnt/beegfs/containers/openmpi.sif', 'ompi_info'],
      ],
    ]);
  });
});
